"""The subscriber lifecycle table: every transition and every refused or ignored one.

Each row below is written out by hand from the behaviour the store had before the table
(``store/subscribers.py``, ``store/site.py``, ``store/bounces.py``, the console's
suppress); the table must say exactly this, row by row.
"""

from __future__ import annotations

import pytest

from syndication.core import bounce_rules
from syndication.core.subscribers import (
    ENTRIES,
    TABLE,
    Event,
    Lists,
    Mail,
    Name,
    Request,
    Status,
    Suppression,
    Transition,
    Verdict,
    after,
    clean_name,
    import_event,
    normalise_email,
    public_name,
    restore_event,
)
from syndication.errors import RecordError

P, A, U, B, C = Status
E = Event
ADD, CLEAR, LEAVE, REPLACE = Lists.ADD, Lists.CLEAR, Lists.LEAVE, Lists.REPLACE
IF_GIVEN, SET = Name.IF_GIVEN, Name.SET
RENEW, RENEW_IF_CHANGED, DROP = Request.RENEW, Request.RENEW_IF_CHANGED, Request.DROP
SUPPRESS, LIFT = Suppression.ADD, Suppression.LIFT


def ok(
    status: Status,
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


def ignored(status: Status | None) -> Transition:
    return Transition(Verdict.IGNORE, status)


def refused(status: Status | None, reason: str) -> Transition:
    return Transition(Verdict.REFUSE, status, reason=reason)


TRANSITIONS: list[tuple[Status | None, Event, Transition]] = [
    # The public form: a new request and its mail, also for a pending one asked again.
    (None, E.SIGN_UP, ok(P, ADD, IF_GIVEN, RENEW, Mail.YES)),
    (P, E.SIGN_UP, ok(P, ADD, IF_GIVEN, RENEW_IF_CHANGED, Mail.YES)),
    (U, E.SIGN_UP, ok(P, ADD, IF_GIVEN, RENEW, Mail.YES)),
    # The CLI and CSV, consent still to be asked: a mail only with a new request.
    (None, E.ADD, ok(P, ADD, IF_GIVEN, RENEW, Mail.IF_RENEWED)),
    (P, E.ADD, ok(P, ADD, IF_GIVEN, RENEW_IF_CHANGED, Mail.IF_RENEWED)),
    (A, E.ADD, ok(A, ADD, IF_GIVEN)),
    (U, E.ADD, ok(P, ADD, IF_GIVEN, RENEW, Mail.IF_RENEWED)),
    # --confirmed: the operator attests consent; no mail, no request left open.
    (None, E.ADD_CONFIRMED, ok(A, ADD, IF_GIVEN, DROP, consent=True)),
    (P, E.ADD_CONFIRMED, ok(A, ADD, IF_GIVEN, DROP, consent=True)),
    (A, E.ADD_CONFIRMED, ok(A, ADD, IF_GIVEN)),
    (U, E.ADD_CONFIRMED, ok(A, ADD, IF_GIVEN, DROP, consent=True)),
    # The confirmation link.
    (P, E.CONFIRM, ok(A, consent=True)),
    # Leaving one list while others remain: the state stays, old links die.
    (P, E.LEAVE_LIST, ok(P, LEAVE, request=DROP)),
    (A, E.LEAVE_LIST, ok(A, LEAVE, request=DROP)),
    (U, E.LEAVE_LIST, ok(U, LEAVE, request=DROP)),
    (B, E.LEAVE_LIST, ok(B, LEAVE, request=DROP)),
    (C, E.LEAVE_LIST, ok(C, LEAVE, request=DROP)),
    # Unsubscribing: link, one-click, console, CLI.
    (P, E.UNSUBSCRIBE, ok(U, CLEAR, request=DROP)),
    (A, E.UNSUBSCRIBE, ok(U, CLEAR, request=DROP)),
    (U, E.UNSUBSCRIBE, ok(U, CLEAR, request=DROP)),
    (B, E.UNSUBSCRIBE, ok(B, CLEAR, request=DROP)),
    (C, E.UNSUBSCRIBE, ok(C, CLEAR, request=DROP)),
    # The preferences page with lists: an unsubscribed reader is active again.
    (P, E.CHOOSE_LISTS, ok(P, REPLACE, SET)),
    (A, E.CHOOSE_LISTS, ok(A, REPLACE, SET)),
    (U, E.CHOOSE_LISTS, ok(A, REPLACE, SET, consent=True)),
    (B, E.CHOOSE_LISTS, ok(B, REPLACE, SET)),
    (C, E.CHOOSE_LISTS, ok(C, REPLACE, SET)),
    # ... and with none: the same as unsubscribing.
    (P, E.CHOOSE_NONE, ok(U, CLEAR, request=DROP)),
    (A, E.CHOOSE_NONE, ok(U, CLEAR, request=DROP)),
    (U, E.CHOOSE_NONE, ok(U, CLEAR, request=DROP)),
    (B, E.CHOOSE_NONE, ok(B, CLEAR, request=DROP)),
    (C, E.CHOOSE_NONE, ok(C, CLEAR, request=DROP)),
    # A hard bounce; a complained reader stays complained.
    (P, E.HARD_BOUNCE, ok(B, request=DROP, suppression=SUPPRESS)),
    (A, E.HARD_BOUNCE, ok(B, request=DROP, suppression=SUPPRESS)),
    (U, E.HARD_BOUNCE, ok(B, request=DROP, suppression=SUPPRESS)),
    (B, E.HARD_BOUNCE, ok(B, request=DROP, suppression=SUPPRESS)),
    (C, E.HARD_BOUNCE, ok(C, request=DROP, suppression=SUPPRESS)),
    # Soft bounces in too many digests in a row.
    (P, E.SOFT_BOUNCE_LIMIT, ok(B, request=DROP, suppression=SUPPRESS)),
    (A, E.SOFT_BOUNCE_LIMIT, ok(B, request=DROP, suppression=SUPPRESS)),
    (U, E.SOFT_BOUNCE_LIMIT, ok(B, request=DROP, suppression=SUPPRESS)),
    # A complaint: every list left at once.
    (P, E.COMPLAINT, ok(C, CLEAR, request=DROP, suppression=SUPPRESS)),
    (A, E.COMPLAINT, ok(C, CLEAR, request=DROP, suppression=SUPPRESS)),
    (U, E.COMPLAINT, ok(C, CLEAR, request=DROP, suppression=SUPPRESS)),
    (B, E.COMPLAINT, ok(C, CLEAR, request=DROP, suppression=SUPPRESS)),
    (C, E.COMPLAINT, ok(C, CLEAR, request=DROP, suppression=SUPPRESS)),
    # The console's "suppress": unsubscribed, unless bounced or complained already.
    (P, E.SUPPRESS, ok(U, request=DROP, suppression=SUPPRESS)),
    (A, E.SUPPRESS, ok(U, request=DROP, suppression=SUPPRESS)),
    (U, E.SUPPRESS, ok(U, request=DROP, suppression=SUPPRESS)),
    (B, E.SUPPRESS, ok(B, request=DROP, suppression=SUPPRESS)),
    (C, E.SUPPRESS, ok(C, request=DROP, suppression=SUPPRESS)),
    # Restore: bounced and complained come back, active only with consent on record.
    (P, E.RESTORE, ok(P, suppression=LIFT)),
    (A, E.RESTORE, ok(A, suppression=LIFT)),
    (U, E.RESTORE, ok(U, suppression=LIFT)),
    (B, E.RESTORE, ok(A, suppression=LIFT)),
    (C, E.RESTORE, ok(A, suppression=LIFT)),
    (P, E.RESTORE_UNCONFIRMED, ok(P, suppression=LIFT)),
    (A, E.RESTORE_UNCONFIRMED, ok(A, suppression=LIFT)),
    (U, E.RESTORE_UNCONFIRMED, ok(U, suppression=LIFT)),
    (B, E.RESTORE_UNCONFIRMED, ok(P, suppression=LIFT)),
    (C, E.RESTORE_UNCONFIRMED, ok(P, suppression=LIFT)),
    # An imported file says the reader confirmed: consent with the file's time (issue 29).
    (None, E.IMPORT_CONFIRMED, ok(A, ADD, IF_GIVEN, DROP, consent=True)),
    (P, E.IMPORT_CONFIRMED, ok(A, ADD, IF_GIVEN, DROP, consent=True)),
    (A, E.IMPORT_CONFIRMED, ok(A, ADD, IF_GIVEN)),
    # ... that the reader left, bounced or complained: on the suppression list, a new
    # record with the file's lists (complained: none) and its opt-in time.
    (None, E.IMPORT_UNSUBSCRIBED, ok(U, ADD, IF_GIVEN, suppression=SUPPRESS, source_consent=True)),
    (P, E.IMPORT_UNSUBSCRIBED, ok(U, request=DROP, suppression=SUPPRESS)),
    (A, E.IMPORT_UNSUBSCRIBED, ok(U, request=DROP, suppression=SUPPRESS)),
    (U, E.IMPORT_UNSUBSCRIBED, ok(U, request=DROP, suppression=SUPPRESS)),
    (B, E.IMPORT_UNSUBSCRIBED, ok(B, request=DROP, suppression=SUPPRESS)),
    (C, E.IMPORT_UNSUBSCRIBED, ok(C, request=DROP, suppression=SUPPRESS)),
    (None, E.IMPORT_BOUNCED, ok(B, ADD, IF_GIVEN, suppression=SUPPRESS, source_consent=True)),
    (P, E.IMPORT_BOUNCED, ok(B, request=DROP, suppression=SUPPRESS)),
    (A, E.IMPORT_BOUNCED, ok(B, request=DROP, suppression=SUPPRESS)),
    (U, E.IMPORT_BOUNCED, ok(B, request=DROP, suppression=SUPPRESS)),
    (B, E.IMPORT_BOUNCED, ok(B, request=DROP, suppression=SUPPRESS)),
    (C, E.IMPORT_BOUNCED, ok(C, request=DROP, suppression=SUPPRESS)),
    (None, E.IMPORT_COMPLAINED, ok(C, name=IF_GIVEN, suppression=SUPPRESS, source_consent=True)),
    (P, E.IMPORT_COMPLAINED, ok(C, CLEAR, request=DROP, suppression=SUPPRESS)),
    (A, E.IMPORT_COMPLAINED, ok(C, CLEAR, request=DROP, suppression=SUPPRESS)),
    (U, E.IMPORT_COMPLAINED, ok(C, CLEAR, request=DROP, suppression=SUPPRESS)),
    (B, E.IMPORT_COMPLAINED, ok(C, CLEAR, request=DROP, suppression=SUPPRESS)),
    (C, E.IMPORT_COMPLAINED, ok(C, CLEAR, request=DROP, suppression=SUPPRESS)),
]

NOT_APPLIED: list[tuple[Status | None, Event, Transition]] = [
    # A stranger's sign-up for an active address keeps its lists and name.
    (A, E.SIGN_UP, ignored(A)),
    # Bounced and complained addresses are left alone by the form, refused by an add.
    (B, E.SIGN_UP, ignored(B)),
    (C, E.SIGN_UP, ignored(C)),
    (B, E.ADD, refused(B, "is bounced and is not re-added")),
    (C, E.ADD, refused(C, "is complained and is not re-added")),
    (B, E.ADD_CONFIRMED, refused(B, "is bounced and is not re-added")),
    (C, E.ADD_CONFIRMED, refused(C, "is complained and is not re-added")),
    # The confirmation link followed again: nothing to do, still a yes.
    (A, E.CONFIRM, ignored(A)),
    # A link for someone who left, bounced or complained changes nothing.
    (U, E.CONFIRM, refused(U, "has unsubscribed")),
    (B, E.CONFIRM, refused(B, "has bounced")),
    (C, E.CONFIRM, refused(C, "has complained")),
    # Soft bounces do nothing more to an address already gone.
    (B, E.SOFT_BOUNCE_LIMIT, ignored(B)),
    (C, E.SOFT_BOUNCE_LIMIT, ignored(C)),
    # An import does not bring back a reader who left, bounced or complained here.
    (U, E.IMPORT_CONFIRMED, refused(U, "has unsubscribed and an import does not re-add it")),
    (B, E.IMPORT_CONFIRMED, refused(B, "is bounced and is not re-added")),
    (C, E.IMPORT_CONFIRMED, refused(C, "is complained and is not re-added")),
]


def _id(row: tuple[Status | None, Event, Transition]) -> str:
    return f"{row[0] or 'none'}-{row[1]}"


@pytest.mark.parametrize("row", TRANSITIONS, ids=_id)
def test_transition(row: tuple[Status | None, Event, Transition]) -> None:
    status, event, expected = row
    assert after(status, event) == expected


@pytest.mark.parametrize("row", NOT_APPLIED, ids=_id)
def test_refused_or_ignored_transition(row: tuple[Status | None, Event, Transition]) -> None:
    status, event, expected = row
    assert after(status, event) == expected


def test_the_table_has_no_row_beyond_those_above() -> None:
    expected = {(s, e) for s, e, _ in TRANSITIONS + NOT_APPLIED}
    assert len(expected) == len(TRANSITIONS) + len(NOT_APPLIED)
    assert set(TABLE) == expected


@pytest.mark.parametrize("status", [None, P, A, U, B, C])
def test_a_suppressed_address_is_left_alone_by_the_form_and_refused_by_an_add(
    status: Status | None,
) -> None:
    reason = "is on the suppression list and is never re-added"
    assert after(status, E.SIGN_UP, suppressed=True) == ignored(status)
    assert after(status, E.ADD, suppressed=True) == refused(status, reason)
    assert after(status, E.ADD_CONFIRMED, suppressed=True) == refused(status, reason)
    assert after(status, E.IMPORT_CONFIRMED, suppressed=True) == refused(status, reason)


def test_the_suppression_list_does_not_stop_leaving_or_restoring() -> None:
    assert after(A, E.UNSUBSCRIBE, suppressed=True) == ok(U, CLEAR, request=DROP)
    assert after(B, E.RESTORE, suppressed=True) == ok(A, suppression=LIFT)
    assert set(ENTRIES) == {E.SIGN_UP, E.ADD, E.ADD_CONFIRMED, E.IMPORT_CONFIRMED}
    # An imported unsubscribe, bounce or complaint is recorded, suppressed or not.
    assert after(None, E.IMPORT_BOUNCED, suppressed=True).verdict is Verdict.APPLY


@pytest.mark.parametrize(
    ("status", "confirmed", "event"),
    [
        (P, False, E.ADD),
        (P, True, E.ADD_CONFIRMED),
        (A, False, E.IMPORT_CONFIRMED),
        (A, True, E.IMPORT_CONFIRMED),
        (U, True, E.IMPORT_UNSUBSCRIBED),
        (B, True, E.IMPORT_BOUNCED),
        (C, False, E.IMPORT_COMPLAINED),
    ],
)
def test_an_imported_status_names_its_event(status: Status, confirmed: bool, event: Event) -> None:
    # --confirmed attests consent for rows the file leaves unconfirmed, and nothing else.
    assert import_event(status, confirmed=confirmed) is event


@pytest.mark.parametrize("event", [E.CONFIRM, E.UNSUBSCRIBE, E.CHOOSE_LISTS, E.RESTORE])
def test_an_event_about_a_record_needs_one(event: Event) -> None:
    with pytest.raises(LookupError):
        after(None, event)


def test_status_strings_are_the_stored_ones() -> None:
    assert [s.value for s in Status] == [
        "pending",
        "active",
        "unsubscribed",
        "bounced",
        "complained",
    ]
    assert after("active", E.UNSUBSCRIBE).status == "unsubscribed"
    with pytest.raises(ValueError):
        after("gone", E.UNSUBSCRIBE)


def test_restore_never_invents_consent() -> None:
    assert restore_event(confirmed=True) is E.RESTORE
    assert restore_event(confirmed=False) is E.RESTORE_UNCONFIRMED


@pytest.mark.parametrize("status", list(Status))
def test_bounce_decisions_take_their_status_from_the_table(status: Status) -> None:
    action = bounce_rules.Action
    hard = bounce_rules.decide(action.SUPPRESS, "userunknown", status, 0, 3)
    assert (hard.event, hard.status) == (E.HARD_BOUNCE, after(status, E.HARD_BOUNCE).status)
    complaint = bounce_rules.decide(action.UNSUBSCRIBE, "feedback/abuse", status, 0, 3)
    assert (complaint.event, complaint.status, complaint.leave_lists) == (E.COMPLAINT, C, True)
    opt_out = bounce_rules.decide(action.UNSUBSCRIBE, "feedback/opt-out", status, 0, 3)
    assert (opt_out.event, opt_out.status) == (E.UNSUBSCRIBE, after(status, E.UNSUBSCRIBE).status)
    assert bounce_rules.decide(action.ALARM, "blocked", status, 0, 3).event is None


# -- addresses and names -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Tom.OBrien@Example.COM ", "tom.obrien@example.com"),
        ("a+tag@sub.example.org", "a+tag@sub.example.org"),
    ],
)
def test_addresses_are_normalised(raw: str, expected: str) -> None:
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "plainaddress",
        "a@b",
        "a@@example.org",
        "a b@example.org",
        "a@example..org",
        "a@example.org\r\nBcc: x@evil.example",
        ".a@example.org",
    ],
)
def test_invalid_addresses_are_refused(raw: str) -> None:
    with pytest.raises(RecordError):
        normalise_email(raw)


def test_names_lose_control_characters_and_public_names_lose_links() -> None:
    assert clean_name("Lee\r\nBcc: x@example.org") == "Lee Bcc: x@example.org"
    assert public_name("  Kim  Lee ") == "Kim Lee"
    adverts = ("see evil.example", "http://x", "a@b.org", "<b>x</b>", "x" * 61)
    for advert in (*adverts, "=?utf-8?b?aHR0cHM6Ly9waGlzaC5leGFtcGxlLw==?=", "Kim =?x"):
        with pytest.raises(RecordError):
            public_name(advert)
