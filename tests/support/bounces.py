"""Builders for the bounce tests: a digest really sent to some readers, and reports.

The reports follow the RFCs' own shapes: RFC 3464 DSNs as Postfix writes them, and RFC 5965
ARF complaints as in its Appendix B example.
"""

from __future__ import annotations

import email
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import Engine, select

from syndication.edges.transport import Envelope, MemoryTransport
from syndication.services import delivery
from syndication.services.digests import compiling
from syndication.settings import BounceSettings, Settings
from syndication.store import database as db
from syndication.store import subscribers
from syndication.store.models import Delivery, Subscriber
from tests.support.builders import AFTER_WEEK

BOUNCE_ADDRESS = "bounces@news.example.org"


def with_bounces(settings: Settings, soft_limit: int = 3) -> Settings:
    return replace(settings, bounces=BounceSettings(address=BOUNCE_ADDRESS, soft_limit=soft_limit))


@dataclass(frozen=True)
class Sent:
    """One copy we sent: its delivery, Message-ID and VERP return path."""

    delivery_id: int
    digest_id: int
    email: str
    message_id: str
    return_path: str


def add_active(engine: Engine, addresses: list[str], list_slug: str = "weekly-city") -> None:
    with db.write_session(engine) as session:
        for address in addresses:
            subscribers.add_subscriber(
                session, address, "", [list_slug], confirmed=True, now=AFTER_WEEK
            )


def send_week(
    settings: Settings,
    engine: Engine,
    period: date,
    now: datetime,
    list_slug: str = "weekly-city",
) -> dict[str, Sent]:
    """Compile ``list_slug``'s digest of the week containing ``period`` and send it to the
    list's active readers through an in-memory transport; what each reader got."""
    report = compiling.compile_digest(settings, engine, list_slug, period, now)
    assert report.created
    transport = MemoryTransport()
    delivery.send_digests(
        settings, engine, workers=1, now=lambda: now, transport_factory=lambda: transport
    )
    return sent_copies(engine, transport.sent)


def sent_copies(engine: Engine, envelopes: list[Envelope]) -> dict[str, Sent]:
    senders = {e.recipient: e.sender for e in envelopes}
    result: dict[str, Sent] = {}
    with db.read_session(engine) as session:
        rows = session.execute(
            select(Delivery.id, Delivery.digest_id, Subscriber.email, Delivery.message_id)
            .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
            .where(Delivery.status == "sent")
        )
        for delivery_id, digest_id, address, message_id in rows:
            if address in senders:
                result[address] = Sent(
                    delivery_id, digest_id, address, message_id, senders[address]
                )
    return result


def status_of(engine: Engine, address: str) -> str:
    with db.read_session(engine) as session:
        return subscribers.find_subscriber(session, address).status


def dsn(
    to: str,
    recipient: str,
    status: str,
    diagnostic: str,
    original_message_id: str,
    *,
    action: str = "failed",
    report_id: str = "<20261130.DSN1@mta.test>",
) -> bytes:
    """An RFC 3464 report in the shape Postfix writes (``Auto-Submitted`` included)."""
    return f"""\
Return-Path: <>
From: MAILER-DAEMON@mta.test (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {to}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="B1"
Message-Id: {report_id}
Date: Mon, 30 Nov 2026 10:00:00 +0000

--B1
Content-Type: text/plain; charset=us-ascii

<{recipient}>: host mx.reader.example.net said: {diagnostic}

--B1
Content-Type: message/delivery-status

Reporting-MTA: dns; mta.test
Arrival-Date: Mon, 30 Nov 2026 09:59:59 +0000

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Remote-MTA: dns; mx.reader.example.net
Diagnostic-Code: smtp; {diagnostic}

--B1
Content-Type: text/rfc822-headers

From: City News <news@example.org>
To: {recipient}
Subject: City Life Weekly
Message-ID: {original_message_id}

--B1--
""".replace("\n", "\r\n").encode()


def arf(
    to: str,
    *,
    feedback_type: str = "abuse",
    original_mail_from: str = "<somespammer@example.net>",
    original_rcpt_to: str = "",
    original_to: str = "<Undisclosed Recipients>",
    original_message_id: str = "<8787KJKJ3K4J3K4J3K4J3.mail@example.net>",
    report_id: str = "<ARF.1@example.com>",
) -> bytes:
    """RFC 5965 Appendix B.1/B.2's example, with the fields a test needs filled in."""
    rcpt = f"Original-Rcpt-To: {original_rcpt_to}\n" if original_rcpt_to else ""
    return f"""\
From: <abusedesk@example.com>
Date: Thu, 8 Mar 2005 17:40:36 EDT
Subject: FW: Earn money
To: <{to}>
MIME-Version: 1.0
Message-ID: {report_id}
Content-Type: multipart/report; report-type=feedback-report;
     boundary="part1_13d.2e68ed54_boundary"

--part1_13d.2e68ed54_boundary
Content-Type: text/plain; charset="US-ASCII"
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message received from IP
192.0.2.1 on Thu, 8 Mar 2005 14:00:00 EDT.  For more information
about this format please see http://www.mipassoc.org/arf/.

--part1_13d.2e68ed54_boundary
Content-Type: message/feedback-report

Feedback-Type: {feedback_type}
User-Agent: SomeGenerator/1.0
Version: 1
Original-Mail-From: {original_mail_from}
{rcpt}Arrival-Date: Thu, 8 Mar 2005 14:00:00 EDT
Reporting-MTA: dns; mail.example.com
Source-IP: 192.0.2.1
Authentication-Results: mail.example.com;
               spf=fail smtp.mail=somespammer@example.com
Reported-Domain: example.net
Reported-Uri: http://example.net/earn_money.html
Removal-Recipient: user@example.com

--part1_13d.2e68ed54_boundary
Content-Type: message/rfc822
Content-Disposition: inline

From: <somespammer@example.net>
Received: from mailserver.example.net (mailserver.example.net
        [192.0.2.1]) by example.com with ESMTP id M63d4137594e46;
        Thu, 08 Mar 2005 14:00:00 -0400
To: {original_to}
Subject: Earn money
MIME-Version: 1.0
Content-type: text/plain
Message-ID: {original_message_id}
Date: Thu, 02 Sep 2004 12:31:03 -0500

Spam Spam Spam
Spam Spam Spam
Spam Spam Spam
Spam Spam Spam
--part1_13d.2e68ed54_boundary--
""".replace("\n", "\r\n").encode()


def parsed(data: bytes) -> email.message.Message:
    return email.message_from_bytes(data)


# -- hostile reports (issue 25): each once stalled the whole queue ------------------------


def prose_bounce_with_charset(to: str, recipient: str, charset: str) -> bytes:
    """A Postfix-worded bounce without a DSN part (read by flufl.bounce) whose explanation
    part declares ``charset``: ``idna`` raised UnicodeError while decoding it."""
    return f"""\
From: MAILER-DAEMON@mta.test (Mail Delivery System)
To: {to}
Subject: Undelivered Mail Returned to Sender
Message-Id: <prose.{charset}@mta.test>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="P1"

--P1
Content-Type: text/plain; charset={charset}

This is the mail system at host mta.test.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

                   The mail system

<{recipient}>: host mx.reader.example.net said: 550 5.1.1 user unknown
--P1--
""".replace("\n", "\r\n").encode()


def deeply_nested(to: str, depth: int = 1000) -> bytes:
    """Multipart inside multipart ``depth`` levels deep (RecursionError in the parser)."""
    head = f"From: MAILER-DAEMON@mta.test\r\nTo: {to}\r\nSubject: nested\r\nMIME-Version: 1.0\r\n"
    opening = "".join(
        f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n' for i in range(depth)
    )
    closing = "".join(f"\r\n--b{i}--\r\n" for i in reversed(range(depth)))
    return (head + opening + "Content-Type: text/plain\r\n\r\nx" + closing).encode()
