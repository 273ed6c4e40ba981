"""Reading reports: DSNs (RFC 3464), ARF complaints (RFC 5965), vendor prose, auto-replies."""

from __future__ import annotations

import pytest

from syndication.core.bounce_mime import ReportError, clean, decode_text, read_message
from syndication.core.bounce_reasons import judge
from syndication.core.bounce_reports import parse_report
from tests.support.bounces import arf, dsn, parsed

TO = "bounces+d1-aaaaaaaaaaaaaaaa@news.example.org"


@pytest.mark.parametrize(
    ("status", "diagnostic", "reason", "permanent"),
    [
        ("5.1.1", "550 5.1.1 no such user", "userunknown", True),
        ("5.1.2", "550 5.1.2 bad destination system", "hostunknown", True),
        ("5.0.0", "550 unknown user", "userunknown", False),  # words alone: counted
        ("5.1.1", "550 unknown user", "userunknown", True),  # the Status agrees
        ("5.0.0", "550 message refused", "undefined", True),
        ("5.2.2", "552 5.2.2 mailbox full", "mailboxfull", True),
        ("5.3.4", "552 5.3.4 message too big", "mesgtoobig", True),
        ("4.2.2", "452 4.2.2 over quota", "mailboxfull", False),
        ("5.7.1", "550 5.7.1 rejected as spam", "spamdetected", True),
        ("5.7.26", "550 5.7.26 unauthenticated mail (DMARC)", "securityerror", True),
        ("5.1.8", "553 5.1.8 sender domain does not exist", "rejected", True),
        ("", "554 blocked by policy: listed on a block list", "blocked", True),
        # The remote server's own words and code beat the DSN's Status field.
        ("5.1.1", "550 5.7.1 IP address blacklisted by Spamhaus", "blocked", True),
        ("5.1.1", "552 5.2.2 Over quota", "mailboxfull", True),
        ("5.1.1", "550 5.1.1 sender rejected: SPF check failed", "securityerror", True),
        ("5.1.1", "550 5.1.1 too many recipients this hour", "toomanyconn", True),
        ("5.0.0", "550 5.2.1 User Unknown", "suspend", True),  # the code names the mailbox
        # The code says refused by policy, the words the address is gone: counted.
        ("5.0.0", "550 5.7.1 No such user", "userunknown", False),
        # One-token and spaced forms of the same words (words alone: counted).
        ("5.0.0", "550 BAD_RECIPIENT", "userunknown", False),
        ("5.0.0", "550 ** No mail box available for this user **", "userunknown", False),
        # The mailbox's size limit is its quota, not a limit on our message.
        ("4.2.2", "452 4.2.2 Mailbox size limit exceeded", "mailboxfull", False),
        # The sending side's own connect() error: a network fact, not about us.
        ("4.4.1", "Deferred: Connection refused by mx.reader.example.net", "networkerror", False),
        # The remote dropping a session it had accepted stays about us.
        ("", "421 Connection reset by peer during greeting", "blocked", False),
        # Outlook.com's own code for a refusal about the sending side.
        (
            "5.0.0",
            "550 DY-001 (SNT0-MC2-F7) Unfortunately, messages from 192.0.2.1 weren't sent."
            " Please get in touch with whoever runs your mail server.",
            "blocked",
            True,
        ),
        # A dotted version number holds no status code.
        ("", "550 rejected by Messaging Server 8.0.5.1.1", "undefined", True),
        # RFC 3463 X.6.0: the content, with no detail.
        ("", "554 5.6.0 message refused", "contenterror", True),
        # Amazon SES's form: its own status name, then the remote's reply in quotes.
        (
            "5.1.0",
            "5.1.0 - Unknown address error 552-'5.2.2 the mailbox is full' (delivery attempts: 0)",
            "mailboxfull",
            True,
        ),
    ],
)
def test_reasons_come_from_the_servers_words_then_codes_then_status(
    status: str, diagnostic: str, reason: str, permanent: bool
) -> None:
    finding = judge(diagnostic, status)
    assert (finding.reason, finding.permanent) == (reason, permanent), finding.evidence
    assert finding.evidence


def test_a_user_unknown_after_data_is_a_filter_and_at_rcpt_is_the_address() -> None:
    after = judge("550 User unknown", "5.0.0", after_data=True)
    assert (after.reason, after.evidence) == (
        "filtered",
        "Diagnostic-Code: phrase 'User unknown', after DATA",
    )
    at_rcpt = judge("550 User unknown", "5.0.0", at_rcpt=True)
    assert (at_rcpt.reason, at_rcpt.permanent) == ("userunknown", True)
    # The server's own address code outranks the stage an engine reports.
    coded = judge("550 5.1.1 User unknown", "5.0.0", after_data=True)
    assert (coded.reason, coded.permanent) == ("userunknown", True)


def test_a_postfix_style_dsn_is_read_despite_its_auto_submitted_header() -> None:
    report = parse_report(
        parsed(dsn(TO, "Dead@Reader.example.net", "5.1.1", "550 5.1.1 no such user", "<m1@news>")),
        [TO],
    )
    assert (report.reason, report.permanent) == ("userunknown", True)
    assert report.evidence == "Diagnostic-Code (5.1.1): phrase 'no such user'"
    assert (report.status, report.action, report.detector) == ("5.1.1", "failed", "dsn")
    assert report.final_recipient == "dead@reader.example.net"
    assert report.original_message_id == "<m1@news>"
    assert report.addresses[0] == TO
    assert "no such user" in report.diagnostic


@pytest.mark.parametrize(
    ("action", "reason"),
    [("delayed", "expired"), ("relayed", "delivered"), ("delivered", "delivered")],
)
def test_informational_dsns_keep_their_action(action: str, reason: str) -> None:
    data = dsn(TO, "r@reader.example.net", "4.4.1", "451 4.4.1 try later", "<m@n>", action=action)
    report = parse_report(parsed(data))
    assert (report.reason, report.action) == (reason, action)


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
    assert (report.reason, report.feedback_type, report.detector) == (
        "feedback/abuse",
        "abuse",
        "arf",
    )
    assert report.final_recipient == "reader@example.com"
    assert report.original_message_id == "<digest.weekly-city@news.example.org>"
    assert TO in report.addresses
    assert parse_report(parsed(arf("fbl@x.test", feedback_type="not-spam"))).reason == "undefined"
    opt_out = parse_report(parsed(arf("fbl@x.test", feedback_type="opt-out")))
    assert opt_out.reason == "feedback/opt-out"


def test_the_rfc_5965_example_as_printed_is_a_complaint_about_nobody_in_particular() -> None:
    report = parse_report(parsed(arf("fbl@news.example.org")))
    assert report.reason == "feedback/abuse"
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
        # vacation(1)'s and other responders' own marks, and other languages' subjects.
        "Precedence: junk\r\nSubject: Re: City Life Weekly\r\n",
        "Precedence: bulk\r\nSubject: Thank you for your e-mail\r\n",
        "Subject: [Automatyczna =?iso-8859-2?Q?odpowied=BC?=] City Life Weekly\r\n",
        "Subject: Automatische Antwort: City Life Weekly\r\n",
        "Subject: =?utf-8?b?6Ieq5YuV5b+c562U?=: City Life Weekly\r\n",
    ],
)
def test_automatic_replies_are_recognised(headers: str) -> None:
    data = f"From: reader@example.com\r\nTo: {TO}\r\n{headers}\r\nI am away.\r\n".encode()
    assert parse_report(parsed(data)).reason == "vacation"


def test_a_qmail_bounce_is_read_from_its_own_words() -> None:
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
    assert (report.reason, report.permanent, report.detector) == (
        "userunknown",
        True,
        "prose:qmail",
    )
    assert report.final_recipient == "gone@reader.example.net"
    assert report.original_message_id == "<digest.x.1@news.example.org>"


def test_plain_mail_is_unknown() -> None:
    data = b"From: someone@example.com\r\nSubject: question\r\n\r\nHello, how do I subscribe?\r\n"
    report = parse_report(parsed(data))
    assert (report.reason, report.detector) == ("undefined", "none")


@pytest.mark.parametrize("charset", ["idna", "punycode", "x-no-such-charset", "unicode-escape"])
def test_hostile_charsets_decode_as_utf8_without_raising(charset: str) -> None:
    assert decode_text("Größe \\N{x}".encode(), charset).startswith("Gr")
    message = parsed(
        f"From: a@b.test\r\nContent-Type: text/plain; charset={charset}\r\n\r\n"
        "<someone@example.net>: 550 5.1.1 user unknown\r\n".encode()
    )
    assert parse_report(message).reason in ("undefined", "userunknown")


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
