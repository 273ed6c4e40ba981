"""Each family of report real systems send, in fixtures written for these tests.

The wording follows what each engine is known to write (studied on public samples, not
copied): the marker sentences that identify the engine, where the failed address and the
remote server's reply sit, and the headers (``X-Failed-Recipients``, ``Auto-Submitted``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from syndication.core.bounce_mime import read_message
from syndication.core.bounce_reports import parse_report
from syndication.core.bounce_rules import action_for
from tests.support.bounces import parsed

TO = "bounces+d7-bbbbbbbbbbbbbbbb@news.example.org"
ID = "<digest.weekly-city.2026-11-16.abc@news.example.org>"
READER = "reader@reader.example.net"


def mail(headers: str, body: str) -> bytes:
    head = f"To: {TO}\nDate: Mon, 30 Nov 2026 10:00:00 +0000\n{headers}"
    return (head.rstrip("\n") + "\n\n" + body).replace("\n", "\r\n").encode()


RETURNED = f"""From: City News <news@example.org>
To: reader@reader.example.net
Subject: City Life Weekly
Message-ID: {ID}

This week in the city.
"""

EXIM = mail(
    "From: Mail Delivery System <Mailer-Daemon@mx.relay.example.net>\n"
    "Subject: Mail delivery failed: returning message to sender\n"
    "X-Failed-Recipients: reader@reader.example.net\n"
    "Auto-Submitted: auto-replied\n",
    """This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  reader@reader.example.net
    host mx.reader.example.net [192.0.2.7]
    SMTP error from remote mail server after RCPT TO:<reader@reader.example.net>:
    550 5.1.1 <reader@reader.example.net>: Recipient address rejected: User unknown

------ This is a copy of the message, including all the headers. ------

"""
    + RETURNED,
)

EXIM_MAIL_FROM = mail(
    "From: Mail Delivery System <Mailer-Daemon@mx.relay.example.net>\n"
    "Subject: Mail delivery failed: returning message to sender\n"
    "X-Failed-Recipients: reader@reader.example.net\n"
    "Auto-Submitted: auto-replied\n",
    """This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  reader@reader.example.net
    SMTP error from remote mail server after MAIL FROM:<news@example.org> SIZE=2048:
    host mx.reader.example.net [192.0.2.7]: 550 5.7.0 Use the relay of your provider

------ This is a copy of the message, including all the headers. ------

"""
    + RETURNED,
)

QMAIL_FULL = mail(
    "From: MAILER-DAEMON@mx.reader.example.net\nSubject: failure notice\n",
    """Hi. This is the qmail-send program at mx.reader.example.net.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<reader@reader.example.net>:
192.0.2.9 does not like recipient.
Remote host said: 450 4.2.2 <reader@reader.example.net>... Mailbox over quota
Giving up on 192.0.2.9.
I'm not going to try again; this message has been in the queue too long.

--- Below this line is a copy of the message.

"""
    + RETURNED,
)

SENDMAIL = mail(
    "From: Mail Delivery Subsystem <MAILER-DAEMON@mx.relay.example.net>\n"
    "Subject: Returned mail: see transcript for details\n",
    """The original message was received at Mon, 30 Nov 2026 09:59:00 +0000

   ----- The following addresses had permanent fatal errors -----
<reader@reader.example.net>
    (reason: 550 5.7.1 Client host rejected: listed at zen.spamhaus.org)

   ----- Transcript of session follows -----
... while talking to mx.reader.example.net.:
>>> RCPT To:<reader@reader.example.net>
<<< 550 5.7.1 Client host rejected: listed at zen.spamhaus.org

   ----- Original message follows -----

"""
    + RETURNED,
)

GMAIL_TIMEOUT = mail(
    "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n"
    "Subject: Delivery Status Notification (Failure)\n"
    "X-Failed-Recipients: reader@reader.example.net\n",
    """Delivery to the following recipient failed permanently:

     reader@reader.example.net

Technical details of permanent failure:
The recipient server did not accept our requests to connect.
[mx.reader.example.net. 192.0.2.3: timed out]

----- Original message -----

"""
    + RETURNED,
)

GOOGLE_GROUPS = mail(
    "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n"
    "Subject: Delivery Status Notification (Failure)\n"
    "X-Failed-Recipients: city-readers@googlegroups.com\n"
    "Auto-Submitted: auto-replied\n",
    """Hello news@example.org,

We're writing to let you know that the group you tried to contact (city-readers) may not
exist, or you may not have permission to post messages to the group.

The Google Groups Team

----- Original message -----

"""
    + RETURNED,
)

YAHOO = mail(
    "From: MAILER-DAEMON@yahoo.example.com\nSubject: Failure Notice\n",
    """Sorry, we were unable to deliver your message to the following address.

<reader@reader.example.net>:
554: delivery error: dd This user doesn't have a reader.example.net account

--- Below this line is a copy of the message.

"""
    + RETURNED,
)

MAILRU = mail(
    "From: mailer-daemon@corp.mail.ru\nSubject: Mail failure.\n"
    "X-Failed-Recipients: reader@reader.example.net\nAuto-Submitted: auto-replied\n"
    "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n",
    """Это письмо создано автоматически сервером Mail.Ru, отвечать на него не нужно.

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  reader@reader.example.net
    SMTP error from remote mail server after end of data:
    host mx.reader.example.net [192.0.2.8]: 550 spam message rejected

------ This is a copy of the message, including all the headers. ------

"""
    + RETURNED,
)

DRAGONFLY = mail(
    "From: MAILER-DAEMON <>\nSubject: Mail delivery failed\n",
    """This is the DragonFly Mail Agent v0.13 at relay.example.org.

There was an error delivering your mail to <reader@reader.example.net>.

mx.reader.example.net [192.0.2.5] did not like our RCPT TO:
550 5.1.1 <reader@reader.example.net>: Recipient address rejected: User unknown

Message headers follow.

"""
    + RETURNED,
)

OPENSMTPD = mail(
    "From: Mailer Daemon <MAILER-DAEMON@relay.example.org>\n"
    "Subject: Delivery status notification: error\n",
    """Hi!

This is the MAILER-DAEMON, please DO NOT REPLY to this email.

An error has occurred while attempting to deliver a message for
the following list of recipients:

reader@reader.example.net: 552 5.2.2 Mailbox is full

Below is a copy of the original message:

"""
    + RETURNED,
)

NOTES = mail(
    "From: postmaster@notes.reader.example.net\nSubject: Undeliverable message\n",
    """------- Failure Reasons  --------

User reader@reader.example.net not listed in public Name & Address Book
reader@reader.example.net

------- Returned Message --------
"""
    + RETURNED,
)

EXCHANGE_DSN = mail(
    "From: postmaster@outlook.example.com\nSubject: Undeliverable: City Life Weekly\n"
    "MIME-Version: 1.0\n"
    'Content-Type: multipart/report; report-type=delivery-status; boundary="E1"\n',
    f"""--E1
Content-Type: text/plain; charset=us-ascii

Your message to reader@reader.example.net couldn't be delivered.

--E1
Content-Type: message/delivery-status

Reporting-MTA: dns;outlook.example.com

Final-Recipient: rfc822;reader@reader.example.net
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp;550 5.4.1 Recipient address rejected: Access denied.
 AS(201806281) [outlook.example.com]

--E1
Content-Type: text/rfc822-headers

Message-ID: {ID}

--E1--
""",
)


# Exchange 2000/2003 (before DSNs): the address, the sentence, and the MSEXCH line whose
# last field is the 8-digit status (000C05A6: recipient name not recognised).
EXCHANGE_2003 = mail(
    "From: System Administrator <postmaster@exchange.reader.example.net>\n"
    "Subject: Undeliverable: City Life Weekly\n",
    """Your message

  To:      reader@reader.example.net
  Subject: City Life Weekly

did not reach the following recipient(s):

reader@reader.example.net on Mon, 30 Nov 2026 10:00:00 +0000
    The recipient name is not recognized
	The MTS-ID of the original message is: c=US;a= ;p=Reader;l=EX1-261130100000Z-1
    MSEXCH:IMS:Reader:Site:EX1 0 (000C05A6) Unknown Recipient
""",
)


def sendmail_dsn(
    reply: str, status: str, status_comment: str = "", *, action: str = "failed", text: str = ""
) -> bytes:
    """A DSN as Sendmail-like and Messaging-Server-like MTAs write it, quoting ``reply``
    (``text``: the human-readable part, e.g. Sendmail's transcript)."""
    return mail(
        "From: Mail Delivery Subsystem <MAILER-DAEMON@relay.example.org>\n"
        "Subject: Returned mail: see transcript for details\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="S1"\n',
        f"""--S1
Content-Type: text/plain

The original message was received at Mon, 30 Nov 2026 09:59:00 +0000
{text}
--S1
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.example.org

Final-Recipient: RFC822; reader@reader.example.net
Action: {action}
Status: {status}{f" ({status_comment})" if status_comment else ""}
Remote-MTA: DNS; mx.reader.example.net
Diagnostic-Code: SMTP; {reply}

--S1
Content-Type: text/rfc822-headers

Message-ID: {ID}

--S1--
""",
    )


# Yahoo's "dd" reply for an account that does not exist, relayed in a DSN whose Status is
# the reporting MTA's coarse 5.0.0.
YAHOO_DD_DSN = sendmail_dsn(
    "554 delivery error: dd This user doesn't have a yahoo.example account"
    " (reader@yahoo.example) [0] - mta1.mail.yahoo.example",
    "5.0.0",
)
# KDDI au's filter: "550 : User unknown" with the address left out.
KDDI_FILTER_DSN = sendmail_dsn("550 : User unknown", "5.2.0")
# Exchange Online's directory-based edge blocking behind a coarse Status.
EOP_DBEB_DSN = sendmail_dsn(
    "550 5.4.1 [reader@reader.example.net]: Recipient address rejected: Access denied."
    " AS(201806281)",
    "5.0.0",
)
# Oracle Messaging Server: no code in the reply, the refusal of RCPT in its Status comment.
MESSAGING_SERVER_RCPT = sendmail_dsn(
    "550 <reader@reader.example.net>: User unknown",
    "5.0.0",
    "Remote SMTP server has rejected address",
)
# The same words without anything saying where or how: counted, not trusted.
WORDS_ONLY_DSN = sendmail_dsn("550 <reader@reader.example.net>: User unknown", "5.0.0")

# Amazon SES's own form (its status and that status's name, then the remote's reply in
# quotes): "Unknown address error" is SES's name for 5.1.0, the remote said 5.7.1.
SES_FORM_DSN = sendmail_dsn(
    "5.1.0 - Unknown address error 550-'5.7.1 Refused: the sending host is not permitted"
    " here' (delivery attempts: 0)",
    "5.1.0",
)

# qmail-remote says which command's response it got ("most progress was RCPT TO response").
QMAIL_RCPT = mail(
    "From: MAILER-DAEMON@mx.relay.example.net\nSubject: failure notice\n",
    """Hi. This is the qmail-send program at mx.relay.example.net.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<reader@reader.example.net>:
Sorry, no SMTP connection got far enough; most progress was RCPT TO response; remote host
192.0.2.7 said: 550 Unknown user reader@reader.example.net
. (#5.5.0)

--- Below this line is a copy of the message.

"""
    + RETURNED,
)

# DragonFly DMA giving up after its queue lifetime (no reply code at all).
DRAGONFLY_GAVE_UP = mail(
    "From: MAILER-DAEMON <>\nSubject: Mail delivery failed\n",
    """This is the DragonFly Mail Agent v0.13 at relay.example.org.

There was an error delivering your mail to <reader@reader.example.net>.

Could not deliver for the last 432000 seconds. Giving up.

Message headers follow.

"""
    + RETURNED,
)


# One report, two entries (the reader's copy and a colleague's on the same relay): each
# entry starts with its address and a colon; the reader's reason is in the reader's entry,
# not in the next one ("Mailbox full" would otherwise be read first).
QMAIL_TWO = mail(
    "From: MAILER-DAEMON@mx.relay.example.net\nSubject: failure notice\n",
    """Hi. This is the qmail-send program at mx.relay.example.net.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<reader@reader.example.net>:
192.0.2.7 does not like recipient.
Remote host said: 550 5.1.1 <reader@reader.example.net>: Recipient address rejected: User unknown
Giving up on 192.0.2.7.

<colleague@reader.example.net>:
192.0.2.7 does not like recipient.
Remote host said: 552 5.2.2 <colleague@reader.example.net>: Mailbox full
Giving up on 192.0.2.7.

--- Below this line is a copy of the message.

"""
    + RETURNED,
)

OPENSMTPD_TWO = mail(
    "From: Mailer Daemon <MAILER-DAEMON@relay.example.org>\n"
    "Subject: Delivery status notification: error\n",
    """Hi!

This is the MAILER-DAEMON, please DO NOT REPLY to this email.

An error has occurred while attempting to deliver a message for
the following list of recipients:

reader@reader.example.net: 550 5.1.1 <reader@reader.example.net>: User unknown
colleague@reader.example.net: 552 5.2.2 <colleague@reader.example.net>: Mailbox full

Below is a copy of the original message:

"""
    + RETURNED,
)

# DragonFly DMA bounces "DNS lookup failure: host %s not found" only when the MX lookup
# failed for good (dma's net.c: a temporary failure is retried, and after the queue
# lifetime the message is "Could not deliver for the last … seconds").
DRAGONFLY_NXDOMAIN = mail(
    "From: MAILER-DAEMON <>\nSubject: Mail delivery failed\n",
    """This is the DragonFly Mail Agent v0.13 at relay.example.org.

There was an error delivering your mail to <reader@reader.example.net>.

DNS lookup failure: host reader.example.net not found

Message headers follow.

"""
    + RETURNED,
)


def multipart_report(
    headers: str,
    text: str,
    fields: str,
    returned: str = f"Content-Type: text/rfc822-headers\n\nMessage-ID: {ID}\n",
) -> bytes:
    """A multipart/report: ``text`` (the human-readable part), one recipient's DSN
    ``fields``, then ``returned`` (a part with its own headers)."""
    return mail(
        headers + "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="P1"\n',
        f"""--P1
Content-Type: text/plain; charset=us-ascii

{text}
--P1
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.example.org

{fields}
--P1
{returned}
--P1--
""",
    )


# A DSN with no Diagnostic-Code and a coarse "Status: 5.0.0" (OpenSMTPD writes them so):
# the remote's reply, with its own code, is only in the human-readable part.
OPENSMTPD_DSN_TEXT_ONLY = multipart_report(
    "From: Mailer Daemon <MAILER-DAEMON@relay.example.org>\n"
    "Subject: Delivery status notification: error\n",
    """    Hi!

    This is the MAILER-DAEMON, please DO NOT REPLY to this email.

    An error has occurred while attempting to deliver a message for
    the following list of recipients:

reader@reader.example.net: 550 5.7.26 <reader@reader.example.net>: Message refused: the
    sending domain's signatures could not be checked

    Below is a copy of the original message:
""",
    "Final-Recipient: rfc822; reader@reader.example.net\nAction: failed\nStatus: 5.0.0\n",
)

# RFC 3463 X.6.0 (the message's content, no detail) in DragonFly DMA's words.
DRAGONFLY_CONTENT = mail(
    "From: MAILER-DAEMON <>\nSubject: Mail delivery failed\n",
    """This is the DragonFly Mail Agent v0.13 at relay.example.org.

There was an error delivering your mail to <reader@reader.example.net>.

mx.reader.example.net [192.0.2.5] did not like our DATA:
554 5.6.0 <reader@reader.example.net>: Message refused: unreadable body part

Message headers follow.

"""
    + RETURNED,
)


# Sendmail giving up after its queue lifetime, the MX having refused every connection
# (no Diagnostic-Code: no remote ever answered).
SENDMAIL_REFUSED = multipart_report(
    "From: Mail Delivery Subsystem <MAILER-DAEMON@relay.example.org>\n"
    "Subject: Returned mail: see transcript for details\n",
    """The original message was received at Mon, 30 Nov 2026 09:59:00 +0000

   ----- The following addresses had permanent fatal errors -----
<reader@reader.example.net>

   ----- Transcript of session follows -----
<reader@reader.example.net>... Deferred: Connection refused by mx.reader.example.net.
Message could not be delivered for 5 days
Message will be deleted from queue
""",
    "Final-Recipient: RFC822; reader@reader.example.net\nAction: failed\nStatus: 4.4.7\n"
    "Remote-MTA: DNS; mx.reader.example.net\n",
)


# Oracle Messaging Server's delay notice: no Diagnostic-Code, and the returned message's
# headers after the report as text/plain (a spam scanner's verdict header, a server
# version "7.0.5.33.0"): neither is the remote's words nor a status code.
MESSAGING_SERVER_DELAY = multipart_report(
    "From: Internet Mail Delivery <postmaster@relay.example.org>\n"
    "Subject: Delivery Notification: Delivery has been delayed\n",
    f"""This report relates to a message you sent with the following header fields:

  Message-id: {ID}
  To: reader@reader.example.net

Your message has been enqueued and undeliverable for 1 day
to the following recipients:

  Recipient address: reader@reader.example.net
  Reason: unable to deliver this message after 1 day

Delivery attempt history for your mail:

TCP active open: Failed connect() to TCP port 25 of 192.0.2.7    Error: Connection timed out
""",
    "Final-Recipient: rfc822;reader@reader.example.net\nAction: delayed\n"
    "Status: 4.4.7 (unable to deliver this message after 1 day)\n",
    f"""Content-Type: text/plain

Received: from news.example.org by relay.example.org
 (Messaging Server 7.0.5.33.0 64bit) id <0AB1@relay.example.org>
X-Scanner-Verdict: classifier=spam score=0 engine=2.50:5.13.68
Message-ID: {ID}
From: City News <news@example.org>
Subject: City Life Weekly
""",
)


# A bounce from "mailer-daemon" whose subject says sending failed, marked as an automatic
# reply (RFC 3834): a report, not an out-of-office answer.
ERROR_SENDING = mail(
    "From: mailer-daemon\nSubject: There was an error sending your mail\n"
    "Auto-Submitted: auto-replied\n",
    """We were unable to pass on your message.

Subject: 'City Life Weekly'

The mail server mx.reader.example.net turned down the recipient
<reader@reader.example.net> and answered: [550 5.1.1 No such mailbox here]

"""
    + RETURNED,
)


# Sendmail's transcript: the remote's reply names no address code, Sendmail's own verdict
# line for the address does (and its closing "Service unavailable" is no evidence).
def sendmail_data_session(reply: str, status: str, after: str) -> bytes:
    """A Sendmail DSN whose transcript shows ``>>> DATA``, the remote's ``reply``, then
    ``after`` (Sendmail's own lines, and any later replies)."""
    transcript = (
        "\n   ----- Transcript of session follows -----\n"
        f"... while talking to mx.reader.example.net.:\n>>> DATA\n<<< {reply}\n{after}"
    )
    return sendmail_dsn(reply, status, text=transcript)


SENDMAIL_VERDICT = sendmail_data_session(
    "550 5.5.0 Invalid recipient",
    "5.5.0",
    "550 5.1.1 <reader@reader.example.net>... User unknown\n"
    "<<< 503 5.0.0 Need RCPT (recipient)\n554 5.0.0 Service unavailable\n",
)
# An Orange refusal: the words say little, the error number says spam.
ORANGE_EXIM = mail(
    "From: Mail Delivery System <Mailer-Daemon@relay.example.org>\n"
    "Subject: Mail delivery failed: returning message to sender\n"
    "X-Failed-Recipients: reader@orange.example\n",
    """This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  reader@orange.example
    SMTP error from remote mail server after end of data:
    host smtp-in.orange.example [192.0.2.1]: 550 5.2.0 Mail rejete. Mail rejected. OFR_506 [506]

------ This is a copy of the message, including all the headers. ------

"""
    + RETURNED,
)
# qmail-remote: the HELO refused, then qmail's own words about the queue.
QMAIL_HELO = mail(
    "From: MAILER-DAEMON@mx.relay.example.net\nSubject: failure notice\n",
    """Hi. This is the qmail-send program at mx.relay.example.net.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<reader@reader.example.net>:
Connected to 192.0.2.7 but my name was rejected.
Remote host said: 501 5.0.0 Invalid domain name
I'm not going to try again; this message has been in the queue too long.

--- Below this line is a copy of the message.

"""
    + RETURNED,
)
# Exim's delay warning: not a failure yet, but the remote refuses our sender.
EXIM_DELAY_SENDER = mail(
    "From: Mail Delivery System <Mailer-Daemon@relay.example.org>\n"
    "Subject: Warning: message 1abc-000 delayed 24 hours\n"
    "X-Failed-Recipients: reader@reader.example.net\n",
    """This message was created automatically by mail delivery software.
A message that you sent has not yet been delivered to one or more of its
recipients after more than 24 hours on the queue on relay.example.org.

The address to which the message has not yet been delivered is:

  reader@reader.example.net
    host mx.reader.example.net [192.0.2.9]
    Delay reason: SMTP error from remote mail server after MAIL FROM:<b@news.example.org>:
    450 sender address verification pending

No action is required on your part. Delivery attempts will continue for
some time, and this warning may be repeated at intervals if the message
remains undelivered.
"""
    + RETURNED,
)
# The same warning about a full mailbox: still trying, so nothing is done to the reader.
EXIM_DELAY_FULL = EXIM_DELAY_SENDER.replace(
    b"Delay reason: SMTP error from remote mail server after MAIL FROM:<b@news.example.org>:",
    b"Delay reason: SMTP error from remote mail server after RCPT TO:<reader@reader.example.net>:",
).replace(b"450 sender address verification pending", b"452 4.2.2 Mailbox full")
# A delay DSN whose cause is a block list: the reader is left alone, the alarm raised.
DELAYED_BLOCKED = sendmail_dsn(
    "451 4.7.1 Client host rejected: listed at a DNSBL", "4.7.1", action="delayed"
)
DELAYED_FULL = sendmail_dsn("452 4.2.2 Mailbox full", "4.2.2", action="delayed")
# RFC 3463 X.2.3: the mailbox's limit on message length, not the system's.
MAILBOX_SIZE_LIMIT = sendmail_dsn("552 5.2.3 Message length exceeds administrative limit", "5.2.3")


def exim_bounce(detail: str) -> bytes:
    """Exim's default bounce for the reader, ``detail`` under the address."""
    return mail(
        "From: Mail Delivery System <Mailer-Daemon@relay.example.org>\n"
        "Subject: Mail delivery failed: returning message to sender\n"
        "X-Failed-Recipients: reader@reader.example.net\n",
        f"""This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  reader@reader.example.net
    {detail}

------ This is a copy of the message, including all the headers. ------

"""
        + RETURNED,
    )


# Exim on a null MX (RFC 7505) and Sendmail on an authoritative NXDOMAIN: DNS facts.
EXIM_NULL_MX = exim_bounce("an MX or SRV record indicated no SMTP service")
SENDMAIL_NXDOMAIN = mail(
    "From: Mail Delivery Subsystem <MAILER-DAEMON@relay.example.org>\n"
    "Subject: Returned mail: Host unknown\n",
    """   ----- Transcript of session follows -----
550 reader.example.net (smtp)... 550 Host unknown
554 <reader@reader.example.net>... 550 Host unknown (Authoritative answer from name server)

   ----- Original message follows -----

"""
    + RETURNED,
)


# Domino in Japanese: the reason in ISO-2022-JP straight in the Diagnostic-Code field.
DOMINO_REASON = (
    "ユーザー reader (reader@reader.example.net) は Domino ディレクトリには見つかりません。"
)
DOMINO_JIS = sendmail_dsn("@@JIS@@", "5.0.0").replace(
    b"SMTP; @@JIS@@", b"X-Notes; " + DOMINO_REASON.encode("iso-2022-jp")
)
# Older Notes in Japanese: reason first, address below it, the body in ISO-2022-JP.
NOTES_JIS = (
    "To: bounces+d7-bbbbbbbbbbbbbbbb@news.example.org\r\n"
    "From: postmaster@notes.reader.example.net\r\nSubject: Undeliverable message\r\n"
    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\n\r\n"
    "------- Failure Reasons  --------\r\n\r\nディレクトリのリストにありません\r\n"
    "reader@reader.example.net\r\n\r\n------- Returned Message --------\r\n"
).encode("iso-2022-jp") + RETURNED.replace("\n", "\r\n").encode()


# Gmail's delay notice: still trying, so nothing is done to the reader.
GMAIL_DELAY = mail(
    "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n"
    "Subject: Delivery Status Notification (Delay)\n",
    """This is an automatically generated Delivery Status Notification

THIS IS A WARNING MESSAGE ONLY.

YOU DO NOT NEED TO RESEND YOUR MESSAGE.

Delivery to the following recipient has been delayed:

     reader@reader.example.net

Message will be retried for 2 more day(s)

Technical details of temporary failure:
The recipient server did not accept our requests to connect.

----- Original message -----

"""
    + RETURNED,
)
# EZweb states the reason above the address.
EZWEB_DISABLED = mail(
    "From: Postmaster@ezweb.example.jp\nSubject: Mail System Error - Returned Mail\n",
    """The user(s) account is disabled.

<reader@reader.example.net>

------ Original message follows ------

"""
    + RETURNED,
)

# Sendmail: the remote's reply to DATA itself (Sendmail's line for the whole message follows,
# not a per-address verdict): a filter's "Unknown user" about the message, not the address.
SENDMAIL_DATA_REFUSED = sendmail_data_session(
    "550 Unknown user reader@reader.example.net", "5.2.0", "554 5.0.0 Service unavailable\n"
)
# Courier names under each recipient the one command whose reply failed.
COURIER_DATA = multipart_report(
    "From: Courier mail server at relay.example.org <@>\nSubject: NOTICE: mail delivery status.\n",
    """This is a delivery status notification from relay.example.org,
running the Courier mail server, version 1.1.

                           UNDELIVERABLE MAIL

Your message to the following recipients cannot be delivered:

<reader@reader.example.net>:
    mx.reader.example.net [192.0.2.7]:
>>> DATA
<<< 550 Unknown user reader@reader.example.net
""",
    "Final-Recipient: rfc822; reader@reader.example.net\nAction: failed\nStatus: 5.0.0\n"
    "Diagnostic-Code: smtp; 550 Unknown user reader@reader.example.net\n",
)
COURIER_RCPT = COURIER_DATA.replace(b">>> DATA", b">>> RCPT TO:<reader@reader.example.net>")


def m_filter(reply: str, command: str) -> bytes:
    """m-FILTER's report: the server's message, then the SMTP command it answered."""
    return mail(
        "From: m-FILTER <postmaster@relay.example.org>\nSubject: Undelivered Mail\n",
        f"""This mail was sent automatically by m-FILTER.

reader@reader.example.net

-------server message
{reply}

-------SMTP command
{command}

-------original message
"""
        + RETURNED,
    )


M_FILTER_DATA = m_filter("550 unknown user <reader@reader.example.net>", "DATA")
# The server's own address code outranks the stage the engine reports.
M_FILTER_DATA_CODED = m_filter(
    "550 5.1.1 <reader@reader.example.net>: Recipient address rejected: User unknown", "DATA"
)
# A final report whose MTA never reached a server: its own DNS lookup found no such host.
UNKNOWN_HOST = mail(
    "From: <MAILER-DAEMON@relay.example.org>\nSubject: mail failed, returning to sender\n",
    """|------------------------- Message log follows: -------------------------|
 no valid recipients were found for this message
|------------------------- Failed addresses follow: ---------------------|
 reader@reader.example.net ... unknown host
|------------------------- Message text follows: ------------------------|
"""
    + RETURNED,
)
# Postfix at the queue's end: the resolver's TRY_AGAIN, a lookup that may yet pass.
POSTFIX_TRY_AGAIN = mail(
    "From: MAILER-DAEMON@relay.example.org (Mail Delivery System)\n"
    "Subject: Undelivered Mail Returned to Sender\n",
    """This is the mail system at host relay.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

<reader@reader.example.net>: Name service error for domain reader.example.net: Host not
    found, try again

"""
    + RETURNED,
)
# The reporting system's own words say the mailbox exists (full; disabled) beside an
# address-gone reply: a contradiction counts, it never suppresses at once.
GONE_BUT_FULL = sendmail_dsn(
    "550 5.1.1 <reader@reader.example.net>... User Unknown",
    "5.1.1",
    text="Your message to <reader> was automatically rejected:\nNot enough disk space\n",
)
GONE_BUT_DISABLED = multipart_report(
    "From: Postmaster@relay.example.org\nSubject: Mail System Error - Returned Mail\n",
    """The user(s) account is disabled.

<reader@reader.example.net>: 550 user unknown (in reply to RCPT TO command)
""",
    "Final-Recipient: rfc822; reader@reader.example.net\nAction: failed\nStatus: 5.0.0\n",
)
# Postfix delivering through a local command (Diagnostic-Code type X-Unix): its Status
# 5.1.1 maps the program's exit code; the program's words are about the program.
X_UNIX = multipart_report(
    "From: MAILER-DAEMON@relay.example.org (Mail Delivery System)\n"
    "Subject: Undelivered Mail Returned to Sender\n",
    "This is the mail system at host relay.example.org.\n",
    "Final-Recipient: rfc822; reader@reader.example.net\nAction: failed\nStatus: 5.1.1\n"
    'Diagnostic-Code: x-unix; procmail: Couldn\'t create "/var/spool/mail/reader" id:\n'
    "    list-owner: No such user\n",
)
# Sendmail's verdict line per address: the reader's is "Remote protocol error"; the next
# address's "Host unknown" is not the reader's.
SENDMAIL_TWO_VERDICTS = mail(
    "From: Mail Delivery Subsystem <MAILER-DAEMON@relay.example.org>\n"
    "Subject: Returned mail: see transcript for details\n",
    """   ----- Transcript of session follows -----
554 <reader@reader.example.net>... Remote protocol error
554 <other@gone.example.com>... 550 Host unknown (Authoritative answer from name server)

   ----- Unsent message follows -----

"""
    + RETURNED,
)
# The mailbox host's own delivery agent: BSD mail.local, and IMail ("<SMTP32 …>").
MAIL_LOCAL = mail(
    "From: Mail Delivery Subsystem <MAILER-DAEMON@reader.example.net>\n"
    "Subject: Returned mail: Service unavailable\n",
    """   ----- The following addresses had permanent fatal errors -----
<reader@reader.example.net>

   ----- Transcript of session follows -----
mail.local: unknown user: reader
554 <reader@reader.example.net>... Service unavailable

   ----- Original message follows -----

"""
    + RETURNED,
)
IMAIL = mail(
    "From: Postmaster@reader.example.net\nSubject: Undeliverable Mail\nX-Mailer: <SMTP32 v8.22>\n",
    "Invalid final delivery userid: reader@reader.example.net\nOriginal message follows.\n\n"
    + RETURNED,
)
# Postfix refusing the recipient through its own access table: about the reader's address.
POSTFIX_ACCESS_DENIED = exim_bounce(
    "SMTP error from remote mail server after RCPT TO:<reader@reader.example.net>:\n"
    "    host mx.reader.example.net [192.0.2.7]: 554 5.7.1 <reader@reader.example.net>:\n"
    "    Recipient address rejected: Access denied"
)

# Whom a report is about when no header names it: the address that starts an entry, not
# the help desk the engine's greeting mentions first.
POSTFIX_HELP_DESK = mail(
    "From: MAILER-DAEMON@relay.example.org (Mail Delivery System)\n"
    "Subject: Undelivered Mail Returned to Sender\n",
    """This is the mail system at host relay.example.org.

For further assistance, please contact <support@relay.example.org>

----------------------------------------------------------------

<reader@reader.example.net>: host mx.reader.example.net[192.0.2.7] said:
    550 <reader@reader.example.net>: \u30e6\u30fc\u30b6\u30fc\u4e0d\u660e User unknown

"""
    + RETURNED,
)


def ses(notification: Mapping[str, Any], wrapped: bool) -> bytes:
    body = json.dumps(notification)
    if wrapped:
        body = json.dumps({"Type": "Notification", "MessageId": "x", "Message": body})
    return mail(
        "From: AWS Notifications <no-reply@sns.amazonaws.com>\nSubject: AWS Notification Message\n",
        body + "\n\n--\nIf you wish to stop receiving notifications from this topic...\n",
    )


SES_MAIL: dict[str, Any] = {
    "source": "bounces+d7-bbbbbbbbbbbbbbbb@news.example.org",
    "commonHeaders": {"messageId": ID},
}
SES_BOUNCE: dict[str, Any] = {
    "notificationType": "Bounce",
    "bounce": {
        "bounceType": "Permanent",
        "bounceSubType": "General",
        "bouncedRecipients": [
            {
                "emailAddress": "reader@reader.example.net",
                "status": "5.1.1",
                "diagnosticCode": "smtp; 550 5.1.1 user unknown",
            }
        ],
    },
    "mail": SES_MAIL,
}
SES_COMPLAINT: dict[str, Any] = {
    "notificationType": "Complaint",
    "complaint": {
        "complainedRecipients": [{"emailAddress": "reader@reader.example.net"}],
        "complaintFeedbackType": "abuse",
    },
    "mail": SES_MAIL,
}
SES_DELIVERY: dict[str, Any] = {
    "notificationType": "Delivery",
    "delivery": {"recipients": ["reader@reader.example.net"], "smtpResponse": "250 ok"},
    "mail": SES_MAIL,
}

JMRP = mail(
    "From: staff@hotmail.com\nSubject: complaint about message from 192.0.2.1\n"
    'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="J1"\n',
    f"""--J1
Content-Type: message/rfc822
Content-Disposition: inline

X-HmXmrOriginalRecipient: reader@reader.example.net
Return-Path: <bounces+d7-bbbbbbbbbbbbbbbb@news.example.org>
From: City News <news@example.org>
To: reader@reader.example.net
Subject: City Life Weekly
Message-ID: {ID}

This week in the city.

--J1--
""",
)


@pytest.mark.parametrize(
    ("data", "reason", "action", "detector", "recipient"),
    [
        (EXIM, "userunknown", "suppress", "prose:exim", READER),
        (EXIM_MAIL_FROM, "rejected", "alarm-only", "prose:exim", READER),
        (QMAIL_FULL, "mailboxfull", "count", "prose:qmail", READER),
        (SENDMAIL, "blocked", "alarm-only", "prose:sendmail", READER),
        (GMAIL_TIMEOUT, "expired", "count", "prose:gmail", READER),
        (
            GOOGLE_GROUPS,
            "rejected",
            "alarm-only",
            "prose:googlegroups",
            "city-readers@googlegroups.com",
        ),
        (YAHOO, "userunknown", "suppress", "prose:yahoo", READER),
        (MAILRU, "spamdetected", "alarm-only", "prose:mailru", READER),
        (DRAGONFLY, "userunknown", "suppress", "prose:dragonfly", READER),
        (OPENSMTPD, "mailboxfull", "count", "prose:opensmtpd", READER),
        (NOTES, "userunknown", "suppress", "prose:notes", READER),
        (EXCHANGE_DSN, "userunknown", "suppress", "dsn", READER),
        (EXCHANGE_2003, "userunknown", "suppress", "prose:exchange", READER),
        (YAHOO_DD_DSN, "userunknown", "suppress", "dsn", READER),
        (KDDI_FILTER_DSN, "filtered", "alarm-only", "dsn", READER),
        (EOP_DBEB_DSN, "userunknown", "suppress", "dsn", READER),
        (MESSAGING_SERVER_RCPT, "userunknown", "suppress", "dsn", READER),
        (WORDS_ONLY_DSN, "userunknown", "count", "dsn", READER),
        (QMAIL_RCPT, "userunknown", "suppress", "prose:qmail", READER),
        (DRAGONFLY_GAVE_UP, "expired", "count", "prose:dragonfly", READER),
        (QMAIL_TWO, "userunknown", "suppress", "prose:qmail", READER),
        (OPENSMTPD_DSN_TEXT_ONLY, "securityerror", "alarm-only", "dsn", READER),
        (SES_FORM_DSN, "blocked", "alarm-only", "dsn", READER),
        (SENDMAIL_REFUSED, "expired", "count", "dsn", READER),
        (MESSAGING_SERVER_DELAY, "expired", "ignore", "dsn", READER),
        (ERROR_SENDING, "userunknown", "suppress", "prose:generic", READER),
        (DRAGONFLY_CONTENT, "contenterror", "alarm-only", "prose:dragonfly", READER),
        (OPENSMTPD_TWO, "userunknown", "suppress", "prose:opensmtpd", READER),
        (DRAGONFLY_NXDOMAIN, "hostunknown", "suppress", "prose:dragonfly", READER),
        (DOMINO_JIS, "userunknown", "suppress", "dsn", READER),
        (NOTES_JIS, "userunknown", "suppress", "prose:notes", READER),
        (GMAIL_DELAY, "networkerror", "ignore", "prose:gmail", READER),
        (EZWEB_DISABLED, "suspend", "count", "prose:generic", READER),
        (SENDMAIL_VERDICT, "userunknown", "suppress", "dsn", READER),
        (ORANGE_EXIM, "spamdetected", "alarm-only", "prose:exim", "reader@orange.example"),
        (QMAIL_HELO, "blocked", "alarm-only", "prose:qmail", READER),
        (EXIM_DELAY_SENDER, "rejected", "alarm-only", "prose:exim", READER),
        (EXIM_DELAY_FULL, "mailboxfull", "ignore", "prose:exim", READER),
        (DELAYED_BLOCKED, "blocked", "alarm-only", "dsn", READER),
        (DELAYED_FULL, "mailboxfull", "ignore", "dsn", READER),
        (MAILBOX_SIZE_LIMIT, "exceedlimit", "count", "dsn", READER),
        (EXIM_NULL_MX, "hostunknown", "suppress", "prose:exim", READER),
        (SENDMAIL_NXDOMAIN, "hostunknown", "suppress", "prose:sendmail", READER),
        (ses(SES_BOUNCE, True), "userunknown", "suppress", "ses", READER),
        (ses(SES_COMPLAINT, False), "feedback/abuse", "unsubscribe", "ses", READER),
        (ses(SES_DELIVERY, True), "delivered", "ignore", "ses", READER),
        (JMRP, "feedback/abuse", "unsubscribe", "jmrp", READER),
        (SENDMAIL_DATA_REFUSED, "filtered", "alarm-only", "dsn", READER),
        (COURIER_DATA, "filtered", "alarm-only", "dsn", READER),
        (COURIER_RCPT, "userunknown", "suppress", "dsn", READER),
        (M_FILTER_DATA, "filtered", "alarm-only", "prose:generic", READER),
        (M_FILTER_DATA_CODED, "userunknown", "suppress", "prose:generic", READER),
        (UNKNOWN_HOST, "hostunknown", "suppress", "prose:generic", READER),
        (POSTFIX_TRY_AGAIN, "hostunknown", "count", "prose:postfix", READER),
        (GONE_BUT_FULL, "userunknown", "count", "dsn", READER),
        (GONE_BUT_DISABLED, "userunknown", "count", "dsn", READER),
        (X_UNIX, "userunknown", "count", "dsn", READER),
        (SENDMAIL_TWO_VERDICTS, "undefined", "undefined", "prose:sendmail", READER),
        (MAIL_LOCAL, "userunknown", "suppress", "prose:sendmail", READER),
        (IMAIL, "userunknown", "suppress", "prose:imail", READER),
        (POSTFIX_ACCESS_DENIED, "userunknown", "suppress", "prose:exim", READER),
        (POSTFIX_HELP_DESK, "userunknown", "count", "prose:postfix", READER),
    ],
)
def test_each_family_is_read_to_a_reason_and_an_action(
    data: bytes, reason: str, action: str, detector: str, recipient: str
) -> None:
    report = parse_report(parsed(data), [TO])
    assert (report.reason, report.detector, report.final_recipient) == (
        reason,
        detector,
        recipient,
    ), report.evidence
    assert action_for(report.finding, report.action).value == action
    assert report.evidence


@pytest.mark.parametrize("data", [EXIM, QMAIL_FULL, SENDMAIL, DRAGONFLY, OPENSMTPD, NOTES])
def test_prose_bounces_name_the_returned_message(data: bytes) -> None:
    assert parse_report(parsed(data), [TO]).original_message_id == ID


def test_exim_bounce_is_not_taken_for_an_out_of_office_reply() -> None:
    report = parse_report(parsed(EXIM), [TO])
    assert report.reason != "vacation" and "after RCPT" not in report.reason


def test_ses_and_jmrp_give_the_return_path_and_message_id_we_sent() -> None:
    for data in (ses(SES_BOUNCE, False), JMRP):
        report = parse_report(parsed(data))
        assert TO in report.addresses
        assert report.original_message_id == ID


def test_ses_transient_bounce_and_not_spam_complaint_touch_nobody() -> None:
    transient = dict(SES_BOUNCE, bounce=dict(SES_BOUNCE["bounce"], bounceType="Transient"))
    report = parse_report(parsed(ses(transient, True)))
    assert action_for(report.finding, report.action).value == "count"
    not_spam = dict(SES_COMPLAINT, complaint={"complaintFeedbackType": "not-spam"})
    assert parse_report(parsed(ses(not_spam, True))).reason == "undefined"


@pytest.mark.parametrize("data", [QMAIL_RCPT, SENDMAIL_VERDICT, EXCHANGE_2003])
def test_old_mac_line_ends_read_like_any_other(data: bytes) -> None:
    # A bare CR ends each line (classic Mac OS): the same report, the same verdict.
    cr_only = data.replace(b"\r\n", b"\r")
    as_crlf = parse_report(read_message(data), [TO])
    as_cr = parse_report(read_message(cr_only), [TO])
    assert (as_cr.reason, as_cr.permanent, as_cr.final_recipient) == (
        as_crlf.reason,
        as_crlf.permanent,
        as_crlf.final_recipient,
    )
    assert as_cr.reason == "userunknown"
