"""Replies whose meaning one receiving system states in its own code or fixed wording (pure
data, read by :func:`syndication.core.bounce_reasons.judge` before any general phrase).

The general phrases (:mod:`syndication.core.bounce_phrases`) cannot tell a filter's "user
unknown" from a vanished address; some systems can, because they mark the difference in a
code or a fixed form of their reply. Each entry is such a documented convention of one
system, keyed on that code or form, never on one report's sentence:

* **Exchange 2000/2003** (``MSEXCH:IMS``/``MSEXCH:IMC`` lines) end their diagnostic with an
  8-digit hexadecimal status: ``000C05A6`` is "the recipient name is not recognized",
  ``000C0595`` an ambiguous recipient (the directory cannot pick one: a filter-like
  refusal, not a vanished address), ``00120270`` too many hops (a mail loop).
* **"Recipient address rejected: Access denied"**: Microsoft Exchange Online Protection
  answers ``550 5.4.1 Recipient address rejected: Access denied`` when directory-based edge
  blocking finds no such recipient in the organisation (Microsoft's NDR reference for
  5.4.1; the code alone would read "no answer from host"), and Postfix answers ``554 5.7.1
  <address>: Recipient address rejected: Access denied`` when the recipient's own access
  table refuses that address (``check_recipient_access``'s REJECT). Postfix names the
  element it refused: "Client host", "Helo command" and "Sender address" rejected are
  about us, "Recipient address" about the reader's address, refused for every sender (its
  5.7.1 is Postfix's code for any REJECT, not a verdict on our mail).
* **Yahoo** answers ``554 delivery error: dd This user doesn't have a yahoo.com account``
  for an address that does not exist ("dd" is its own prefix; the same prefix with other
  words means other things).
* **Lotus Domino** looks recipients up in its own directory, the mailbox server's: "User
  … not listed in Domino Directory" (older: "in public Name & Address Book"; Japanese:
  "Domino ディレクトリには見つかりません", older Notes: "ディレクトリのリストにありません") is
  that directory's answer, not a filter's.
* **Orange and La Poste** (orange.fr, wanadoo.fr, laposte.net) end each refusal with an
  error number in a token such as ``OFR_506`` or ``LPN007_416``; the number, listed on
  their postmaster pages, says why (:data:`ORANGE_CODES`) whatever the words around it.
* **Outlook.com/Hotmail** mark each of its refusals about the sending side with a code of its
  own after the reply code: ``SC-001``…``SC-004`` (IP or network reputation, complaints),
  ``DY-001``/``DY-002`` (dynamic or compromised IP), ``OU-001``/``OU-002`` (policy, block
  list), listed on its postmaster troubleshooting page; the words after them vary ("…
  messages from 192.0.2.1 weren't sent …") and often name no block list at all.
* **BSD mail.local**, Sendmail's local delivery agent on the mailbox host itself, writes
  ``mail.local: unknown user: <name>`` when the user is not in that host's password file:
  the mailbox host's own lookup, not a relayed reply a filter could have written.
* **KDDI au** (ezweb.ne.jp) answers ``550 : User unknown``, with the address left out,
  when the recipient's own filter refuses the sender, and ``550 <address>: User unknown``
  when there is no such user (keyed on KDDI's own domains, ezweb.ne.jp and au.com, where
  the address form is that documented answer rather than anyone's words).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Convention:
    """One system's documented reply: ``pattern`` found in the reply means ``reason``;
    with ``numbers``, the pattern's first group is an error number looked up there (a
    number not listed means nothing certain: the convention does not apply)."""

    system: str
    pattern: re.Pattern[str]
    reason: str
    numbers: Mapping[str, str] | None = None


def _c(
    system: str, pattern: str, reason: str, numbers: Mapping[str, str] | None = None
) -> Convention:
    return Convention(system, re.compile(pattern, re.IGNORECASE), reason, numbers)


# Orange / La Poste error numbers (the last three digits of OFR_nnn, LPNnnn_nnn, OUK_nnn).
# Those that only say "try again later" (105, 107-109, 201, 423, 424, 513) are left out.
ORANGE_CODES: Mapping[str, str] = {
    "101": "blocked",  # sending IP on Orange's own block list
    "102": "blocked",
    "103": "blocked",
    "104": "toomanyconn",
    "305": "securityerror",
    "401": "securityerror",  # SPF/DNS of the sender's domain
    "402": "securityerror",
    "403": "rejected",  # sender domain or address refused
    "405": "rejected",
    "415": "rejected",
    "416": "userunknown",  # "Adresse destinataire invalide. Invalid recipient."
    "417": "mailboxfull",
    "420": "suspend",  # archived recipient
    "421": "rejected",  # MAIL FROM not owned by the user
    "426": "suspend",  # recipient account blocked
    "505": "systemerror",
    "506": "spamdetected",  # "Mail rejete. Mail rejected."
    "510": "blocked",
    "514": "mesgtoobig",  # "Taille limite du message atteinte"
    "517": "securityerror",  # DMARC verification failed
    "630": "policyviolation",
    "999": "blocked",
}


# Reasons are named as in bounce_reasons.REASONS (a test checks each one).
CONVENTIONS: tuple[Convention, ...] = (
    _c("Exchange 2003 status 000C05A6", r"MSEXCH:[^\n]{0,120}\(000C05A6\)", "userunknown"),
    _c("Exchange 2003 status 000C0595", r"MSEXCH:[^\n]{0,120}\(000C0595\)", "filtered"),
    _c("Exchange 2003 status 00120270", r"MSEXCH:[^\n]{0,120}\(00120270\)", "networkerror"),
    _c(
        "recipient refused by the recipient's own server",
        r"recipient address rejected:\s*access denied",
        "userunknown",
    ),
    _c(
        "Yahoo 'dd' no such account",
        r"delivery error: dd this user doesn'?t have an? \S+ account",
        "userunknown",
    ),
    _c(
        "Domino directory lookup",
        r"not listed in (the )?(domino directory|public name (&|and) address book)|"
        r"domino ?ディレクトリには見つかりません|ディレクトリのリストにありません",
        "userunknown",
    ),
    _c(
        "Orange/La Poste error number",
        r"\b(?:ofr|lpn|ouk)(?:\d{3})?[_-](\d{3})\b",
        "undefined",
        ORANGE_CODES,
    ),
    _c("Outlook.com sender block code", r"\b5\d\d (?:SC|DY|OU)-00\d\b", "blocked"),
    _c("BSD mail.local's own lookup", r"\bmail\.local: unknown user:", "userunknown"),
    _c("KDDI au filter (no address in the reply)", r"\b550:?\s+:\s*user unknown", "filtered"),
    _c(
        "KDDI au no such user",
        r"\b550:?\s+<[^>\s]+@(?:ezweb\.ne\.jp|au\.com)>:\s*user unknown",
        "userunknown",
    ),
)


def convention(reply: str) -> tuple[Convention, str] | None:
    """The first system convention ``reply`` follows, and the words that show it."""
    text = " ".join(reply.split())
    for entry in CONVENTIONS:
        match = entry.pattern.search(text)
        if match is None:
            continue
        if entry.numbers is None:
            return entry, match.group(0)
        named = entry.numbers.get(match.group(1))
        if named is not None:
            return replace(entry, reason=named), match.group(0)
    return None
