"""A subscriber's lifecycle (pure): five states, the events that move between them, one table.

Consent is double opt-in: a new address is ``pending`` until its owner follows the
confirmation link, unless the operator attests prior consent. The suppression list (hard
bounces, complaints, an operator's "never mail again") is a separate fact about an
*address*: while an address is on it, no sign-up or add brings it back (:func:`after`).

===========================  ========  ========  ========  ========  ========  ========
event                        none      P         A         U         B         C
===========================  ========  ========  ========  ========  ========  ========
sign-up (public form)        P mail    P mail    ignored   P mail    ignored   ignored
add (CLI, CSV)               P mail    P mail?   A +l      P mail    refused   refused
add ``--confirmed``          A c       A c       A +l      A c       refused   refused
import, confirmed            A c* +l   A c* +l   A +l      refused   refused   refused
import, unsubscribed         U s k +l  U s       U s       U s       B s       C s
import, bounced              B s k +l  B s       B s       B s       B s       C s
import, complained           C s k     C s -L    C s -L    C s -L    C s -L    C s -L
confirm (the link)           .         A c       ignored   refused   refused   refused
leave a list, others remain  .         P -l      A -l      U -l      B -l      C -l
unsubscribe (every list)     .         U -L      U -L      U -L      B -L      C -L
preferences, with lists      .         P =l      A =l      A c =l    B =l      C =l
preferences, with none       .         U -L      U -L      U -L      B -L      C -L
hard bounce                  .         B s       B s       B s       B s       C s
soft bounces at the limit    .         B s       B s       B s       ignored   ignored
complaint                    .         C s -L    C s -L    C s -L    C s -L    C s -L
operator suppress            .         U s       U s       U s       B s       C s
operator restore             .         P u       A u       U u       A/P u     A/P u
===========================  ========  ========  ========  ========  ========  ========

The state afterwards: P pending, A active, U unsubscribed, B bounced, C complained.
``mail``: a confirmation mail goes out with a new sign-up request (links mailed for an
earlier one stop working); ``mail?``: a new request and its mail only when it asks for
more than the pending one (another name, another list), while the public form mails the
pending request again. ``c``: consent recorded now (the preferences link came to the
reader's mailbox, which is the consent double opt-in asks for); ``c*``: consent recorded
at the time the imported file gives (else now); ``k``: the opt-in time the file gives, if
any, kept on the new record (so a restore knows the address had confirmed). ``+l`` joins the lists
named, ``=l`` keeps exactly the lists chosen, ``-l`` leaves the list named, ``-L`` every
list. ``s``: on the suppression list, ``u``: off it. ``A/P``: active if the address had
confirmed, else pending (consent is never invented). ``.``: no record, so nothing to do
(an old link is answered as done, an unknown address as an error, by the caller).

A stranger must not change an active reader's lists or name through the public form (the
owner has the preferences link in every digest), and the form answers the same whatever
the state, so it cannot be used to learn who subscribes. A complaint outranks a bounce.
Whatever the state, an address on the suppression list is left alone by a sign-up and
refused by an add or a confirmed import.

The import rows carry another tool's history (``subscribers import`` of an export from
this tool, listmonk or Mailchimp, issue 29): what the file says the reader confirmed stays
confirmed, and an unsubscribe, bounce or complaint in it puts the address on the
suppression list, so that no later import or sign-up brings it back unseen; only an
operator's restore does. A row the file does not mark confirmed is an add.

Each row is a :class:`Transition` in :data:`TABLE` (its ``request`` column says which
events renew or drop the pending sign-up request); the store carries transitions out and
holds no rule of its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from syndication.core.addresses import AddressError, normalise_address
from syndication.errors import RecordError


class Status(StrEnum):
    """A subscriber's state, as stored in ``subscribers.status``."""

    PENDING = "pending"
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"


# The addresses mail can no longer reach (or must not): only an operator brings them back.
GONE = (Status.BOUNCED, Status.COMPLAINED)


class Event(StrEnum):
    """What can happen to a subscriber."""

    SIGN_UP = "sign-up"  # the public form
    ADD = "add"  # `subscribers add` / `import` without --confirmed
    ADD_CONFIRMED = "add-confirmed"  # the operator holds their consent already
    CONFIRM = "confirm"  # the double opt-in link (its request checked by the store)
    LEAVE_LIST = "leave-list"  # one list left, others remain
    UNSUBSCRIBE = "unsubscribe"  # no list left: link, one-click, console, CLI
    CHOOSE_LISTS = "choose-lists"  # preferences saved with at least one list
    CHOOSE_NONE = "choose-none"  # preferences saved with none, or "leave everything"
    HARD_BOUNCE = "hard-bounce"
    SOFT_BOUNCE_LIMIT = "soft-bounce-limit"  # soft bounces in too many digests in a row
    COMPLAINT = "complaint"
    SUPPRESS = "suppress"  # an operator: never mail this address again
    RESTORE = "restore"  # an operator undoes a bounce, complaint or suppression
    RESTORE_UNCONFIRMED = "restore-unconfirmed"  # the same, for an address never confirmed
    # An imported file's history (`subscribers import` of an export with statuses):
    IMPORT_CONFIRMED = "import-confirmed"  # the file says the reader confirmed
    IMPORT_UNSUBSCRIBED = "import-unsubscribed"  # ... left (or was blocklisted, disabled)
    IMPORT_BOUNCED = "import-bounced"  # ... bounced (Mailchimp: cleaned)
    IMPORT_COMPLAINED = "import-complained"  # ... reported the mail as spam


# The events that create a subscriber or bring one back: the suppression list stops them.
ENTRIES = (Event.SIGN_UP, Event.ADD, Event.ADD_CONFIRMED, Event.IMPORT_CONFIRMED)


class Verdict(StrEnum):
    APPLY = "apply"  # do what the transition says
    IGNORE = "ignore"  # change nothing; not an error (the caller answers as if done)
    REFUSE = "refuse"  # change nothing; the caller says no (``reason``)


class Lists(StrEnum):
    KEEP = "keep"
    ADD = "add"  # join the lists named, keep the others
    REPLACE = "replace"  # exactly the lists named
    LEAVE = "leave"  # leave the list named
    CLEAR = "clear"  # leave every list


class Name(StrEnum):
    KEEP = "keep"
    IF_GIVEN = "if-given"  # a blank name keeps the one on record
    SET = "set"  # the preferences form: what was typed, blank included


class Request(StrEnum):
    """The pending sign-up request (what a confirmation link is bound to)."""

    KEEP = "keep"
    RENEW = "renew"  # a new request: links mailed for the previous one stop working
    RENEW_IF_CHANGED = "renew-if-changed"  # only if there is none or it asks for more
    DROP = "drop"  # no request: every confirmation link mailed before is dead


class Mail(StrEnum):
    """Whether a confirmation mail goes out."""

    NO = "no"
    YES = "yes"
    IF_RENEWED = "if-renewed"  # only for a new request


class Suppression(StrEnum):
    KEEP = "keep"
    ADD = "add"
    LIFT = "lift"


@dataclass(frozen=True)
class Transition:
    """What one event does to a subscriber: a row of :data:`TABLE`.

    ``status`` is the state afterwards (the same one when ignored or refused; ``None``
    only for an address with no record that stays without one). ``consent`` stamps the
    time the reader's consent was recorded (``confirmed_at``): the time an imported file
    gives for it, else now.
    """

    verdict: Verdict
    status: Status | None
    lists: Lists = Lists.KEEP
    name: Name = Name.KEEP
    request: Request = Request.KEEP
    mail: Mail = Mail.NO
    consent: bool = False
    suppression: Suppression = Suppression.KEEP
    reason: str = ""
    # An imported record: the opt-in time its file gives is kept (never one invented).
    source_consent: bool = False


def _to(
    status: Status,
    *,
    lists: Lists = Lists.KEEP,
    name: Name = Name.KEEP,
    request: Request = Request.KEEP,
    mail: Mail = Mail.NO,
    consent: bool = False,
    suppression: Suppression = Suppression.KEEP,
    source_consent: bool = False,
) -> Transition:
    return Transition(
        Verdict.APPLY,
        status,
        lists,
        name,
        request,
        mail,
        consent,
        suppression,
        source_consent=source_consent,
    )


def _ignore(status: Status | None) -> Transition:
    return Transition(Verdict.IGNORE, status)


def _refuse(status: Status | None, reason: str) -> Transition:
    return Transition(Verdict.REFUSE, status, reason=reason)


def _join(status: Status) -> Transition:
    """Joins the lists named (keeping the others); a name given replaces the one on record."""
    return _to(status, lists=Lists.ADD, name=Name.IF_GIVEN)


def _ask(request: Request, mail: Mail = Mail.IF_RENEWED) -> Transition:
    """Pending, joining the lists named, with a sign-up request to confirm."""
    return _to(P, lists=Lists.ADD, name=Name.IF_GIVEN, request=request, mail=mail)


def _consented() -> Transition:
    """Active at once: the operator attests the reader's consent."""
    return _to(A, lists=Lists.ADD, name=Name.IF_GIVEN, request=Request.DROP, consent=True)


def _choose(status: Status, consent: bool = False) -> Transition:
    return _to(status, lists=Lists.REPLACE, name=Name.SET, consent=consent)


def _suppressed(status: Status, lists: Lists = Lists.KEEP) -> Transition:
    return _to(status, lists=lists, request=Request.DROP, suppression=Suppression.ADD)


def _lifted(status: Status) -> Transition:
    return _to(status, suppression=Suppression.LIFT)


P, A, U, B, C = Status
_Rows = dict[tuple[Status | None, Event], Transition]


def _entries(status: Status) -> _Rows:
    """Sign-up and add for a bounced or complained reader: left alone, or refused."""
    refused = f"is {status} and is not re-added"
    return {
        (status, Event.SIGN_UP): _ignore(status),
        (status, Event.ADD): _refuse(status, refused),
        (status, Event.ADD_CONFIRMED): _refuse(status, refused),
    }


def _imported(event: Event, status: Status) -> _Rows:
    """An unsubscribe, bounce or complaint an imported file records (``k``/``s``).

    A new record keeps the file's lists (for the record; suppressed, it is never mailed)
    and its opt-in time; an existing one takes the state an operator's suppress, a hard
    bounce or a complaint gives it (a complaint outranks a bounce, a bounce an unsubscribe).
    """
    lists = Lists.CLEAR if status is C else Lists.KEEP
    new = Lists.KEEP if status is C else Lists.ADD
    rank = {U: 0, B: 1, C: 2}
    rows: _Rows = {
        (None, event): _to(
            status, lists=new, name=Name.IF_GIVEN, suppression=Suppression.ADD, source_consent=True
        )
    }
    for s in Status:
        stronger = status if s in (P, A) or rank[status] >= rank[s] else s
        rows[s, event] = _suppressed(stronger, lists)
    return rows


def _unsubscribe(event: Event) -> _Rows:
    """Every list left: pending and active readers become unsubscribed."""
    left = {P: U, A: U, U: U, B: B, C: C}
    return {(s, event): _to(left[s], lists=Lists.CLEAR, request=Request.DROP) for s in Status}


TABLE: Mapping[tuple[Status | None, Event], Transition] = {
    (None, Event.SIGN_UP): _ask(Request.RENEW, Mail.YES),
    (P, Event.SIGN_UP): _ask(Request.RENEW_IF_CHANGED, Mail.YES),
    (A, Event.SIGN_UP): _ignore(A),
    (U, Event.SIGN_UP): _ask(Request.RENEW, Mail.YES),
    (None, Event.ADD): _ask(Request.RENEW),
    (P, Event.ADD): _ask(Request.RENEW_IF_CHANGED),
    (A, Event.ADD): _join(A),
    (U, Event.ADD): _ask(Request.RENEW),
    (None, Event.ADD_CONFIRMED): _consented(),
    (P, Event.ADD_CONFIRMED): _consented(),
    (A, Event.ADD_CONFIRMED): _join(A),
    (U, Event.ADD_CONFIRMED): _consented(),
    **_entries(B),
    **_entries(C),
    (None, Event.IMPORT_CONFIRMED): _consented(),
    (P, Event.IMPORT_CONFIRMED): _consented(),
    (A, Event.IMPORT_CONFIRMED): _join(A),
    (U, Event.IMPORT_CONFIRMED): _refuse(U, "has unsubscribed and an import does not re-add it"),
    (B, Event.IMPORT_CONFIRMED): _refuse(B, "is bounced and is not re-added"),
    (C, Event.IMPORT_CONFIRMED): _refuse(C, "is complained and is not re-added"),
    **_imported(Event.IMPORT_UNSUBSCRIBED, U),
    **_imported(Event.IMPORT_BOUNCED, B),
    **_imported(Event.IMPORT_COMPLAINED, C),
    (P, Event.CONFIRM): _to(A, consent=True),
    (A, Event.CONFIRM): _ignore(A),
    (U, Event.CONFIRM): _refuse(U, "has unsubscribed"),
    (B, Event.CONFIRM): _refuse(B, "has bounced"),
    (C, Event.CONFIRM): _refuse(C, "has complained"),
    **{(s, Event.LEAVE_LIST): _to(s, lists=Lists.LEAVE, request=Request.DROP) for s in Status},
    **_unsubscribe(Event.UNSUBSCRIBE),
    (P, Event.CHOOSE_LISTS): _choose(P),
    (A, Event.CHOOSE_LISTS): _choose(A),
    (U, Event.CHOOSE_LISTS): _choose(A, consent=True),
    (B, Event.CHOOSE_LISTS): _choose(B),
    (C, Event.CHOOSE_LISTS): _choose(C),
    **_unsubscribe(Event.CHOOSE_NONE),
    (P, Event.HARD_BOUNCE): _suppressed(B),
    (A, Event.HARD_BOUNCE): _suppressed(B),
    (U, Event.HARD_BOUNCE): _suppressed(B),
    (B, Event.HARD_BOUNCE): _suppressed(B),
    (C, Event.HARD_BOUNCE): _suppressed(C),
    (P, Event.SOFT_BOUNCE_LIMIT): _suppressed(B),
    (A, Event.SOFT_BOUNCE_LIMIT): _suppressed(B),
    (U, Event.SOFT_BOUNCE_LIMIT): _suppressed(B),
    (B, Event.SOFT_BOUNCE_LIMIT): _ignore(B),
    (C, Event.SOFT_BOUNCE_LIMIT): _ignore(C),
    **{(s, Event.COMPLAINT): _suppressed(C, Lists.CLEAR) for s in Status},
    (P, Event.SUPPRESS): _suppressed(U),
    (A, Event.SUPPRESS): _suppressed(U),
    (U, Event.SUPPRESS): _suppressed(U),
    (B, Event.SUPPRESS): _suppressed(B),
    (C, Event.SUPPRESS): _suppressed(C),
    **{(s, Event.RESTORE): _lifted(s) for s in (P, A, U)},
    (B, Event.RESTORE): _lifted(A),
    (C, Event.RESTORE): _lifted(A),
    **{(s, Event.RESTORE_UNCONFIRMED): _lifted(s) for s in (P, A, U)},
    (B, Event.RESTORE_UNCONFIRMED): _lifted(P),
    (C, Event.RESTORE_UNCONFIRMED): _lifted(P),
}

# Whatever the state (or no record at all): an address on the suppression list is never
# added again, and the public form leaves it alone.
ON_SUPPRESSION_LIST: Mapping[Event, Transition] = {
    Event.SIGN_UP: _ignore(None),
    Event.ADD: _refuse(None, "is on the suppression list and is never re-added"),
    Event.ADD_CONFIRMED: _refuse(None, "is on the suppression list and is never re-added"),
    Event.IMPORT_CONFIRMED: _refuse(None, "is on the suppression list and is never re-added"),
}


def after(status: str | None, event: Event, *, suppressed: bool = False) -> Transition:
    """What ``event`` does to a subscriber in ``status`` (``None``: no record yet).

    ``suppressed`` says the address is on the suppression list. :class:`LookupError`
    for an event that needs a record (confirm, unsubscribe, ...) when there is none: the
    caller answers that itself (an old link, an unknown address).
    """
    current = None if status is None else Status(status)
    if suppressed and event in ENTRIES:
        return replace(ON_SUPPRESSION_LIST[event], status=current)
    try:
        return TABLE[current, event]
    except KeyError:
        raise LookupError(f"{event}: no subscriber to apply it to") from None


_IMPORTED = {
    Status.ACTIVE: Event.IMPORT_CONFIRMED,
    Status.UNSUBSCRIBED: Event.IMPORT_UNSUBSCRIBED,
    Status.BOUNCED: Event.IMPORT_BOUNCED,
    Status.COMPLAINED: Event.IMPORT_COMPLAINED,
}


def import_event(status: Status, *, confirmed: bool) -> Event:
    """The event for a row an imported file gives ``status``.

    Active is a confirmed import and the suppressing states their imports; a pending row
    is an add, or an add with consent when the operator attests it (``confirmed``).
    """
    if status is Status.PENDING:
        return Event.ADD_CONFIRMED if confirmed else Event.ADD
    return _IMPORTED[status]


def restore_event(confirmed: bool) -> Event:
    """An operator's restore, for an address that had (or had never) confirmed."""
    return Event.RESTORE if confirmed else Event.RESTORE_UNCONFIRMED


# -- addresses and names ------------------------------------------------------------------


def normalise_email(raw: str) -> str:
    """The canonical form of an address (trimmed, lower-case) or :class:`RecordError`."""
    try:
        return normalise_address(raw)
    except AddressError as exc:
        raise RecordError("email", str(exc)) from None


def clean_name(raw: str) -> str:
    """A display name safe to put in a header: control characters and CR/LF removed."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in raw).split())[:200]


PUBLIC_NAME_LIMIT = 60
# What makes a "name" an advert: a scheme, www., an address, markup, or a host name
# (letters, a dot, two or more letters, no space: "evil.example", "bit.ly/x").
_LINK_IN_NAME = re.compile(r"(?i)://|www\.|@|[<>]|[a-z0-9-]\.[a-z]{2,}\b")


def public_name(raw: str) -> str:
    """A display name typed into a public form: short, plain, no links.

    The name goes into mail to whatever address was typed next to it (the confirmation),
    so a stranger could use the form to mail a link to anyone. Names are limited to
    :data:`PUBLIC_NAME_LIMIT` characters and may not hold a URL, host name, address or
    markup; :class:`RecordError` says so.
    """
    name = clean_name(raw)
    if len(name) > PUBLIC_NAME_LIMIT:
        raise RecordError("name", f"at most {PUBLIC_NAME_LIMIT} characters, please")
    if _LINK_IN_NAME.search(name):
        raise RecordError("name", "a name cannot contain a web or e-mail address")
    if "=?" in name:
        # An RFC 2047 encoded-word: mail clients would show what it encodes (N11: a URL
        # in the To: line of a confirmation sent to anyone).
        raise RecordError("name", 'a name cannot contain "=?" (it reads as encoded text)')
    return name
