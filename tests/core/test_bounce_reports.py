"""Reading reports: DSNs (RFC 3464), ARF complaints (RFC 5965), vendor prose, auto-replies."""

from __future__ import annotations

import pytest

from syndication.core.bounce_reports import (
    HARD,
    UNKNOWN,
    ReportError,
    classify_failure,
    clean,
    decode_text,
    parse_report,
    read_message,
)
from tests.support.bounces import arf, dsn, parsed

TO = "bounces+d1-aaaaaaaaaaaaaaaa@news.example.org"


@pytest.mark.parametrize(
    ("status", "diagnostic", "kind"),
    [
        ("5.1.1", "550 5.1.1 no such user", "hard"),
        ("5.1.2", "550 5.1.2 bad destination system", "hard"),
        ("5.0.0", "550 unknown user", "hard"),
        ("5.0.0", "550 message refused", "soft"),
        ("5.2.2", "552 5.2.2 mailbox full", "soft"),
        ("5.3.4", "552 5.3.4 message too big", "soft"),
        ("5.4.4", "550 5.4.4 unroutable", "soft"),
        ("4.2.2", "452 4.2.2 over quota", "soft"),
        ("5.7.1", "550 5.7.1 rejected as spam", "blocked"),
        ("5.7.26", "550 5.7.26 unauthenticated mail (DMARC)", "blocked"),
        ("5.1.8", "553 5.1.8 sender domain does not exist", "blocked"),
        ("", "554 blocked by policy: listed on a block list", "blocked"),
    ],
)
def test_failures_are_classified_by_rfc_3463_code(status: str, diagnostic: str, kind: str) -> None:
    assert classify_failure(status, diagnostic) == kind


def test_a_postfix_style_dsn_is_read_despite_its_auto_submitted_header() -> None:
    report = parse_report(
        parsed(dsn(TO, "Dead@Reader.example.net", "5.1.1", "550 5.1.1 no such user", "<m1@news>")),
        [TO],
    )
    assert report.kind == "hard"
    assert (report.status, report.action, report.detector) == ("5.1.1", "failed", "dsn")
    assert report.final_recipient == "dead@reader.example.net"
    assert report.original_message_id == "<m1@news>"
    assert report.addresses[0] == TO
    assert "no such user" in report.diagnostic


@pytest.mark.parametrize(
    ("action", "kind"),
    [("delayed", "delayed"), ("relayed", "relayed"), ("delivered", "delivered")],
)
def test_informational_dsns_keep_their_action(action: str, kind: str) -> None:
    data = dsn(TO, "r@reader.example.net", "4.4.1", "451 4.4.1 try later", "<m@n>", action=action)
    assert parse_report(parsed(data)).kind == kind


def test_the_same_report_twice_has_one_identity_and_another_report_another() -> None:
    data = dsn(TO, "r@reader.example.net", "5.1.1", "550 5.1.1 x", "<m@n>")
    again = b"Received: from relay.test by mx.test; Mon, 30 Nov 2026 10:01:00 +0000\r\n" + data
    other = dsn(
        TO, "r@reader.example.net", "5.1.1", "550 5.1.1 x", "<m@n>", report_id="<other@mta>"
    )
    first = parse_report(parsed(data)).report_id
    assert parse_report(parsed(again)).report_id == first
    assert parse_report(parsed(other)).report_id != first


def test_rfc_5965_abuse_report_is_a_complaint_and_not_spam_is_not() -> None:
    data = arf(
        "fbl@news.example.org",
        original_mail_from=f"<{TO}>",
        original_rcpt_to="<Reader@Example.com>",
        original_message_id="<digest.weekly-city@news.example.org>",
    )
    report = parse_report(parsed(data))
    assert (report.kind, report.feedback_type, report.detector) == ("complaint", "abuse", "arf")
    assert report.final_recipient == "reader@example.com"
    assert report.original_message_id == "<digest.weekly-city@news.example.org>"
    assert TO in report.addresses
    assert parse_report(parsed(arf("fbl@x.test", feedback_type="not-spam"))).kind == "unknown"


def test_the_rfc_5965_example_as_printed_is_a_complaint_about_nobody_in_particular() -> None:
    report = parse_report(parsed(arf("fbl@news.example.org")))
    assert report.kind == "complaint"
    assert report.final_recipient == ""
    assert report.original_message_id == "<8787KJKJ3K4J3K4J3K4J3.mail@example.net>"


@pytest.mark.parametrize(
    "headers",
    [
        "Auto-Submitted: auto-replied\r\nSubject: Re: City Life Weekly\r\n",
        "X-Autoreply: yes\r\nSubject: Re: City Life Weekly\r\n",
        "Precedence: auto_reply\r\nSubject: hello\r\n",
        "Subject: Out of Office: back on Monday\r\n",
        "Subject: =?utf-8?b?67aA7J6sIOykkQ==?= (=?utf-8?b?7J6Q64+ZIOydkeuLtQ==?=)\r\n",
    ],
)
def test_automatic_replies_are_recognised(headers: str) -> None:
    data = f"From: reader@example.com\r\nTo: {TO}\r\n{headers}\r\nI am away.\r\n".encode()
    assert parse_report(parsed(data)).kind == "auto-reply"


def test_a_non_standard_bounce_is_read_by_flufl_bounce() -> None:
    # qmail's own format (no DSN), as flufl.bounce's qmail detector knows it.
    data = (
        "From: MAILER-DAEMON@mx.reader.example.net\r\n"
        f"To: {TO}\r\n"
        "Subject: failure notice\r\n"
        "\r\n"
        "Hi. This is the qmail-send program at mx.reader.example.net.\r\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\r\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\r\n"
        "\r\n"
        "<gone@reader.example.net>:\r\n"
        "Sorry, no mailbox here by that name. (#5.1.1)\r\n"
        "\r\n"
        "--- Below this line is a copy of the message.\r\n"
        "\r\n"
        "Message-ID: <digest.x.1@news.example.org>\r\n"
        "Subject: City Life Weekly\r\n"
    ).encode()
    report = parse_report(parsed(data), [TO])
    assert (report.kind, report.detector) == ("hard", "flufl")
    assert report.final_recipient == "gone@reader.example.net"
    assert report.original_message_id == "<digest.x.1@news.example.org>"


def test_plain_mail_is_unknown() -> None:
    data = b"From: someone@example.com\r\nSubject: question\r\n\r\nHello, how do I subscribe?\r\n"
    assert parse_report(parsed(data)).kind == "unknown"


@pytest.mark.parametrize("charset", ["idna", "punycode", "x-no-such-charset", "unicode-escape"])
def test_hostile_charsets_decode_as_utf8_without_raising(charset: str) -> None:
    assert decode_text("Größe \\N{x}".encode(), charset).startswith("Gr")
    message = parsed(
        f"From: a@b.test\r\nContent-Type: text/plain; charset={charset}\r\n\r\n"
        "<someone@example.net>: 550 5.1.1 user unknown\r\n".encode()
    )
    assert parse_report(message).kind in (UNKNOWN, HARD)


def test_mime_bounds_are_checked_before_parsing() -> None:
    deep = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
        for i in range(200)
    )
    with pytest.raises(ReportError, match="too deeply nested: 200"):
        read_message(b"From: a@b.test\r\n" + deep)
    many = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(1001))
    with pytest.raises(ReportError, match="too many MIME parts: 1002"):
        read_message(b'Content-Type: text/plain; boundary="b"\r\n\r\n' + many)
    assert read_message(b"From: a@b.test\r\n\r\nbody").get("From") == "a@b.test"


def test_control_characters_never_leave_the_parser() -> None:
    assert clean("a\x00b\x1bc\td") == "a b c\td"
