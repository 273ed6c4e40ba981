"""Why a delivery failed, in a fixed vocabulary, and the evidence that decided it (pure).

The vocabulary follows Sisimai's reasons (the most complete public bounce classifier),
folded where we act alike: ``notaccept`` (null MX, RFC 7505) is :data:`HOSTUNKNOWN`;
SPF/DKIM/DMARC failures, missing reverse DNS and TLS demands are :data:`SECURITYERROR`
or :data:`BLOCKED`; relaying refused is :data:`REJECTED`; a virus is :data:`SPAMDETECTED`.

Evidence, strongest first (:func:`judge`):

0. a convention one receiving system documents for its replies (an Exchange status
   number, Microsoft's 5.4.1 edge block, Yahoo's "dd" prefix: :mod:`bounce_vendors`);
1. the remote server's own words: phrases (:mod:`syndication.core.bounce_phrases`) in
   its reply text (``Diagnostic-Code`` of a DSN, the quoted SMTP reply in a prose bounce);
2. the enhanced status code (RFC 3463) the remote server put in that reply;
3. the DSN's own ``Status:`` field (written by the reporting MTA, often a coarse 5.0.0 or
   a 5.1.1 for anything the remote refused at RCPT time);
4. the basic reply code class (RFC 5321 §4.2.1: 5yz permanent, 4yz transient).

Phrases outrank codes because the codes are often generic or wrong in practice: "550
5.1.1 IP address blacklisted" is a block list, "Status: 5.1.1" over "552 5.2.2 Over
quota" is a full mailbox. ``permanent`` says whether the deciding reply or code was a
permanent one (5yz / 5.x.x): a 4yz "user unknown" is a transient condition, not a
vanished address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from syndication.core.bounce_phrases import PHRASES
from syndication.core.bounce_vendors import convention

USERUNKNOWN = "userunknown"
HOSTUNKNOWN = "hostunknown"
HASMOVED = "hasmoved"
MAILBOXFULL = "mailboxfull"
EXCEEDLIMIT = "exceedlimit"
SUSPEND = "suspend"
EXPIRED = "expired"
SYSTEMERROR = "systemerror"
NETWORKERROR = "networkerror"
BLOCKED = "blocked"
SPAMDETECTED = "spamdetected"
POLICYVIOLATION = "policyviolation"
SECURITYERROR = "securityerror"
REJECTED = "rejected"
FILTERED = "filtered"
TOOMANYCONN = "toomanyconn"
SPEEDING = "speeding"
CONTENTERROR = "contenterror"
MESGTOOBIG = "mesgtoobig"
ABUSE = "feedback/abuse"
OPT_OUT = "feedback/opt-out"
VACATION = "vacation"
DELIVERED = "delivered"
UNDEFINED = "undefined"

REASONS = (
    USERUNKNOWN,
    HOSTUNKNOWN,
    HASMOVED,
    MAILBOXFULL,
    EXCEEDLIMIT,
    SUSPEND,
    EXPIRED,
    SYSTEMERROR,
    NETWORKERROR,
    BLOCKED,
    SPAMDETECTED,
    POLICYVIOLATION,
    SECURITYERROR,
    REJECTED,
    FILTERED,
    TOOMANYCONN,
    SPEEDING,
    CONTENTERROR,
    MESGTOOBIG,
    ABUSE,
    OPT_OUT,
    VACATION,
    DELIVERED,
    UNDEFINED,
)


@dataclass(frozen=True)
class Finding:
    """A reason, whether the failure was permanent, and the evidence (one line) for it."""

    reason: str
    permanent: bool
    evidence: str


# RFC 3463 subjects and details (and the IANA registry's additions) that name a reason.
_CODES: dict[str, str] = {
    "1.1": USERUNKNOWN,
    "1.2": HOSTUNKNOWN,
    "1.3": USERUNKNOWN,
    "1.6": HASMOVED,
    "1.7": REJECTED,
    "1.8": REJECTED,
    "1.10": HOSTUNKNOWN,  # RFC 7505: null MX
    "2.1": SUSPEND,
    "2.2": MAILBOXFULL,
    "2.3": EXCEEDLIMIT,
    "3.1": SYSTEMERROR,
    "3.2": HOSTUNKNOWN,
    "3.4": MESGTOOBIG,
    "4.1": EXPIRED,
    "4.2": NETWORKERROR,
    "4.3": SYSTEMERROR,
    "4.4": HOSTUNKNOWN,
    "4.6": NETWORKERROR,
    "4.7": EXPIRED,
    "5.3": TOOMANYCONN,
    # RFC 3463 §3.7: X.6.0, "something about the content of a message caused it to be
    # considered undeliverable" (the subject is the content, whatever the detail).
    "6.0": CONTENTERROR,
    "7.0": SECURITYERROR,
    "7.1": BLOCKED,
    "7.13": SUSPEND,
    "7.23": SECURITYERROR,
    "7.24": SECURITYERROR,
    "7.25": SECURITYERROR,
    "7.26": SECURITYERROR,
}
_SUBJECTS: dict[str, str] = {
    "1": USERUNKNOWN,  # addressing; vendors' own details (Microsoft's 5.1.351…)
    "2": FILTERED,
    "3": SYSTEMERROR,
    "4": NETWORKERROR,
    "5": SYSTEMERROR,
    "6": CONTENTERROR,
    "7": SECURITYERROR,
}

_EARLY_STAGE_RE = re.compile(
    r"(after|in reply to) (the )?(initial connection|connect|greeting|banner|helo|ehlo|"
    r"mail from)|"
    # qmail-remote: "Connected to 192.0.2.1 but my name was rejected" (HELO) / "but sender
    # was rejected" (MAIL FROM); Postfix: "host … refused to talk to me" (the greeting).
    r"but (my name|sender) was rejected|refused to talk to me",
    re.IGNORECASE,
)
_DOMAIN_GONE_RE = re.compile(
    r"no such domain|domain (name )?(does not exist|not found|unknown|must exist)|no mx record|"
    r"null ?mx|does not accept mail|unrout(e)?able|indicated no smtp service|"
    # Sendmail's resolver verdict: "Host unknown (Authoritative answer from name server)".
    r"authoritative answer from name server|"
    # DragonFly DMA bounces with this only when its MX lookup failed for good (net.c: a
    # temporary failure is retried, and at the queue's end says "Could not deliver").
    r"dns lookup failure: host \S+ not found",
    re.IGNORECASE,
)
ADDRESS_GONE = frozenset({USERUNKNOWN, HOSTUNKNOWN, HASMOVED})
# RFC 3463 X.7.x ("security or policy status") as the reasons _CODES gives them.
_POLICY_CODES = frozenset({BLOCKED, SECURITYERROR})
_TRY_AGAIN_RE = re.compile(r"try again|temporar|retry|retried", re.IGNORECASE)
_AFTER_DATA_RE = re.compile(
    r"in reply to end of data|after end of data|in reply to data command|"
    # m-FILTER names the command its reply answered: "-------SMTP command" then "DATA".
    r"-{3,}\s*smtp command\s+data\b",
    re.IGNORECASE,
)


# Sendmail's transcript: ">>> DATA", the remote's reply ("<<< 550 …"), then Sendmail's own
# line. With pipelining a refused RCPT is read after ">>> DATA" too, but Sendmail then writes
# its per-address verdict ("550 5.1.1 <reader@example.net>... User unknown", sysexits
# EX_NOUSER); the refusal of DATA itself, of the whole message, is followed by the line with
# no address, "554 5.0.0 Service unavailable" (EX_UNAVAILABLE, every recipient of the session).
_SENDMAIL_DATA_REFUSED_RE = re.compile(
    r"^>>> DATA[ \t]*\r?\n(?:<<< [^\n]*\n)+[ \t]*5\d\d 5\.0\.0 Service unavailable",
    re.MULTILINE | re.IGNORECASE,
)


def refused_after_data(text: str) -> bool:
    """Whether ``text`` (a report's explanation) says the refusal came in reply to DATA or
    the end of the message, not to RCPT TO. Only the MTAs' explicit words count here: in a
    Sendmail transcript a RCPT refusal is read after ``>>> DATA`` when pipelining (see
    :func:`transcript_refused_data`)."""
    return bool(_AFTER_DATA_RE.search(" ".join(text.split())))


# Courier writes, under each recipient, the one command whose reply failed and that reply
# (">>> RCPT TO:<reader@example.net>" for a refused recipient, ">>> DATA" for the message).
_COURIER_RE = re.compile(r"running the courier mail server", re.IGNORECASE)
_COURIER_DATA_RE = re.compile(r"^>>> DATA[ \t]*\r?\n<<< [45]\d\d", re.MULTILINE | re.IGNORECASE)


def transcript_refused_data(transcript: str) -> bool:
    """Whether an engine's transcript (the report's whole text, Sendmail's closing line
    kept) shows the remote refusing DATA itself: in Sendmail's, its reply to ``>>> DATA``
    followed by Sendmail's line for the whole message rather than a per-address verdict; in
    Courier's, the reply under ``>>> DATA``, the one command Courier names per recipient."""
    text = transcript.replace("\r\n", "\n")
    if _SENDMAIL_DATA_REFUSED_RE.search(text):
        return True
    return bool(_COURIER_RE.search(" ".join(text.split())) and _COURIER_DATA_RE.search(text))


_AT_RCPT_RE = re.compile(
    r"in reply to rcpt to|after rcpt to|>>> rcpt to:?\s*<[^>]*>\s+<<<\s*5|rcpt to:?\s*<[^>]*>"
    r"[^<]{0,20}<<<\s*5|error from remote mail server after rcpt|\brcpt to\b[^.]{0,40}\b5\d\d\b|"
    # qmail-remote: "most progress was RCPT TO response"; DragonFly DMA: "did not like our
    # RCPT TO"; Oracle Messaging Server's Status comment "Remote SMTP server has rejected
    # address" (its words for a refused RCPT).
    r"rcpt to response|did not like our rcpt to|server has rejected address|smtp:rcpt host",
    re.IGNORECASE,
)


def refused_at_rcpt(text: str) -> bool:
    """Whether ``text`` shows the refusal came in reply to RCPT TO (RFC 5321 §3.3)."""
    return bool(_AT_RCPT_RE.search(" ".join(text.split())))


_SENDMAIL_VERDICT_RE = re.compile(r"^[ \t]*5\d\d (5\.1\.\d{1,3}) <[^>\s]+>\.\.\.", re.MULTILINE)
# Not a piece of a longer dotted number: "Messaging Server 7.0.5.33.0" names a version.
_STATUS_RE = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)")
_REPLY_RE = re.compile(r"(?:^|[\s:;(\[])([245])[0-5]\d(?=[\s\-])")


# Amazon SES's own form: its status and that status's description first, then the remote
# server's reply in quotes ("5.1.0 - Unknown address error 550-'5.7.1 … Access denied'
# (delivery attempts: 0)"). The description is SES's name for its status, not the remote's
# words; the quoted reply is what the remote said.
_SES_FORM_RE = re.compile(
    r"^\s*[245]\.\d{1,3}\.\d{1,3} - [^'\n]{1,80}? ([245]\d\d)[- ]'(.+)'"
    r"\s*\(delivery attempts: \d+\)\s*$",
    re.DOTALL,
)


def remote_reply(text: str) -> str:
    """The remote server's own reply in ``text``: the quoted reply of Amazon SES's form,
    else ``text`` itself."""
    match = _SES_FORM_RE.match(text)
    return f"{match.group(1)} {match.group(2)}" if match else text


def enhanced_status(text: str) -> str:
    """The first RFC 3463 code in ``text`` (``5.7.1``), or ``""``."""
    match = _STATUS_RE.search(text)
    return ".".join(match.groups()) if match else ""


def reply_class(text: str) -> str:
    """The class digit of the first SMTP reply code in ``text`` (``5``, ``4``), or ``""``."""
    match = _REPLY_RE.search(text)
    return match.group(1) if match else ""


# A full mailbox or a disabled account is a mailbox that exists.
_MAILBOX_EXISTS = (MAILBOXFULL, SUSPEND)


def mailbox_exists_phrase(text: str) -> str:
    """Words in ``text`` saying the reader's mailbox exists (it is full, or disabled), or
    ``""``. A report that says so beside an address-gone reply contradicts itself."""
    text = " ".join(text.split())
    for reason, pattern in PHRASES:
        if reason in _MAILBOX_EXISTS:
            match = pattern.search(text)
            if match:
                return " ".join(match.group(0).split())
    return ""


def unless_contradicted(finding: Finding, text: str) -> Finding:
    """``finding``, counted instead of suppressing at once when ``text`` (the reporting
    system's own words beside the reply) says the mailbox exists: "550 5.1.1 User unknown"
    under "Not enough disk space", "user unknown" under "The user(s) account is disabled".
    Suppressing at once needs evidence that agrees; a contradiction counts, so a reader whose
    mailbox really is gone is still suppressed after ``soft_limit`` digests in a row."""
    if finding.reason not in ADDRESS_GONE or not finding.permanent:
        return finding
    said = mailbox_exists_phrase(text)
    if not said:
        return finding
    return Finding(finding.reason, False, f"{finding.evidence}; but the report says '{said[:60]}'")


def from_phrase(text: str) -> tuple[str, str] | None:
    """The reason the first matching phrase names, and the phrase as written."""
    text = " ".join(text.split())  # a reply folded over lines is one sentence
    for reason, pattern in PHRASES:
        match = pattern.search(text)
        if match:
            return reason, " ".join(match.group(0).split())
    return None


def from_code(code: str) -> str | None:
    """The reason an RFC 3463 code names (``5.1.1`` -> userunknown); None when generic.

    ``x.0.0``, ``x.1.0``, ``x.7.0`` and the like say only "something failed".
    """
    if not code:
        return None
    klass, subject, detail = code.split(".")
    if klass == "2":
        return DELIVERED
    named = _CODES.get(f"{subject}.{detail}")
    if named is not None:
        return named
    if detail != "0":
        return _SUBJECTS.get(subject)
    return None


def judge(
    diagnostic: str,
    status: str = "",
    *,
    source: str = "Diagnostic-Code",
    after_data: bool = False,
    at_rcpt: bool = False,
    own_lookup: bool = False,
) -> Finding:
    """The reason a failed delivery's evidence gives (see the module docstring).

    ``diagnostic`` is the remote server's reply or the report's explanation; ``status``
    the DSN ``Status:`` field; ``source`` names where ``diagnostic`` came from, for the
    evidence line; ``after_data`` says the report shows the refusal came after the
    message text (:func:`refused_after_data`), ``at_rcpt`` that it came in reply to RCPT TO
    (:func:`refused_at_rcpt`), ``own_lookup`` that the report is the mailbox host's own
    verdict on its own users (its local delivery agent, no remote reply relayed).

    An address-gone phrase decides at once only with something agreeing: an address code
    (the server's or the Status field's) or the refusal of RCPT TO; else it counts.
    """
    diagnostic = remote_reply(diagnostic)
    server_code = enhanced_status(diagnostic)
    klass = (server_code or status or "")[:1] or reply_class(diagnostic)
    permanent = klass != "4"
    known = convention(diagnostic)
    if known is not None:
        # The system's own convention says what its reply means: no general phrase or
        # code outranks it (see bounce_vendors for each one's source).
        entry, words = known
        return Finding(entry.reason, permanent, f"{source}: {entry.system} '{words[:80]}'")
    phrase = from_phrase(diagnostic)
    stage = _EARLY_STAGE_RE.search(" ".join(diagnostic.split()))
    if stage is not None and (phrase is None or phrase[0] in ADDRESS_GONE | {EXPIRED}):
        # Refused before any recipient was named (at the greeting, HELO or MAIL FROM):
        # about our server or sender address, never the reader's. Words about retrying
        # ("in the queue too long", "attempts will continue") are the engine's schedule,
        # not the cause, so the stage outranks them.
        said = stage.group(0).lower()
        early = REJECTED if "mail from" in said or "sender" in said else BLOCKED
        return Finding(early, permanent, f"{source}: refused before RCPT ('{stage.group(0)}')")
    if phrase is not None:
        reason, words = phrase
        code_note = f" ({server_code})" if server_code else ""
        evidence = f"{source}{code_note}: phrase '{words[:80]}'"
        if reason == MESGTOOBIG and server_code[2:] == "2.3":
            # RFC 3463 X.2.3: the message exceeds the *mailbox's* administrative limit
            # (its subject is the mailbox, X.3.4 is the system's size limit).
            return Finding(EXCEEDLIMIT, permanent, f"{evidence}, mailbox code {server_code}")
        if reason in ADDRESS_GONE:
            coded = from_code(server_code)
            if coded in _POLICY_CODES:
                # "550 5.7.1 No such user": the code says refused by policy, the words say
                # the address is gone. Neither is proof: counted, so neither a filter's
                # refusal drops the reader at once nor a dead address is mailed for ever.
                return Finding(reason, False, f"{evidence}, but code {server_code}")
            if coded is not None and coded not in ADDRESS_GONE:
                # The server's own code names another subject (5.2.1 mailbox disabled):
                # the words are not proof that the address is gone.
                return Finding(coded, permanent, f"{evidence}, but code {server_code}")
            if after_data and from_code(server_code) not in ADDRESS_GONE:
                # RFC 5321 §3.3: recipients are refused at RCPT; a "user unknown" to the
                # message text after DATA is a filter's answer about the message. The
                # server's own address code (5.1.1) outranks the stage an engine reports.
                return Finding(FILTERED, permanent, f"{evidence}, after DATA")
            verdicts = [from_code(server_code), from_code(status)]
            # Sendmail states its own verdict per address after the remote's reply:
            # "550 5.1.1 <reader@example.net>... User unknown".
            verdicts += [from_code(c) for c in _SENDMAIL_VERDICT_RE.findall(diagnostic)]
            agrees = {c for c in verdicts if c in ADDRESS_GONE}
            if _DOMAIN_GONE_RE.search(words) or (
                reason == HOSTUNKNOWN and _DOMAIN_GONE_RE.search(" ".join(diagnostic.split()))
            ):
                # A domain that does not exist (or has a null MX, RFC 7505) is a DNS fact
                # the remote states, not a filter's answer.
                agrees = {HOSTUNKNOWN}
            elif (
                reason == HOSTUNKNOWN
                and not server_code
                and not reply_class(diagnostic)
                and not _TRY_AGAIN_RE.search(diagnostic)
            ):
                # No remote reply at all: no server was reached, so no filter answered. The
                # reporting MTA itself says the host is unknown: its own DNS lookup's
                # answer. A lookup that may pass says so (the resolver's TRY_AGAIN, "Host
                # not found, try again", which Postfix reports when the queue expires).
                agrees = {HOSTUNKNOWN}
                evidence += ", the reporting MTA's own lookup"
            if not agrees and own_lookup and reason == USERUNKNOWN:
                # The mailbox host itself looked the user up: no filter's answer relayed.
                agrees = {USERUNKNOWN}
                evidence += ", the mailbox host's own lookup"
            if not agrees and not at_rcpt:
                # Words alone drop no reader: filters answer "user unknown" too. Without an
                # address code (x.1.1, x.1.2, x.1.6…) or the refusal of RCPT TO (where
                # RFC 5321 §3.3 checks recipients) agreeing, it counts like a soft one.
                return Finding(reason, False, f"{evidence}; no address code agrees")
            if not agrees:
                evidence += ", at RCPT TO"
        return Finding(reason, permanent, evidence)
    for code, where in ((server_code, source), (status, "Status")):
        named = from_code(code)
        if named is not None:
            return Finding(named, code[:1] != "4", f"{where}: code {code}")
    if klass == "4":
        return Finding(UNDEFINED, False, f"{source}: a temporary failure, no reason given")
    return Finding(UNDEFINED, permanent, f"{source}: no code or phrase that names a reason")
