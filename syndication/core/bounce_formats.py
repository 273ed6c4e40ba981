"""Reports that are not RFC 3464 or RFC 5965 (pure): Amazon SES JSON, Microsoft JMRP, and
the bounces MTAs write in their own words.

* **Amazon SES** notifications delivered by e-mail through an SNS topic: a JSON object
  (possibly wrapped in the SNS envelope, ``"Type": "Notification"``, with the
  notification as a string in ``Message``) whose ``notificationType`` (or
  ``eventType``) is ``Bounce``, ``Complaint`` or ``Delivery``. ``mail.source`` is the
  envelope sender we gave SES (our VERP return path), ``mail.commonHeaders.messageId``
  our Message-ID.
* **Microsoft JMRP** (Outlook.com/Hotmail's junk mail reporting program): a
  multipart/mixed message from ``staff@hotmail.com`` carrying the complained-about
  message as ``message/rfc822``, whose ``X-HmXmrOriginalRecipient`` names the reader.
* **Prose bounces**: Exim's default bounce (text/plain with ``X-Failed-Recipients``, and
  ``Auto-Submitted: auto-replied`` although it is no out-of-office reply), qmail,
  Sendmail, Exchange/Office 365, Gmail and Google Groups, Yahoo, mail.ru, DragonFly DMA,
  OpenSMTPD, Lotus Notes. Recognised by their markers; the failed address from
  ``X-Failed-Recipients``, the text, or flufl.bounce (used only to find the address,
  never to decide the reason); the reason from the text after that address (or, when
  nothing follows it, from the whole text: Notes and EZweb write the reason above it).
  Warnings (Exim's "not yet been delivered", OpenSMTPD's "temporary failure report",
  Gmail's "has been delayed") are delays: ``action`` is ``delayed``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses
from typing import Any

from syndication.core import bounce_reasons as reasons
from syndication.core.bounce_mime import (
    children,
    clean,
    first_address,
    header_text,
    message_id,
    returned_headers,
)
from syndication.core.bounce_reasons import Finding


@dataclass(frozen=True)
class Notice:
    """What a non-RFC report says, in the fields :class:`BounceReport` needs."""

    finding: Finding
    action: str
    recipient: str
    diagnostic: str = ""
    status: str = ""
    message_id: str = ""
    feedback_type: str = ""
    return_paths: tuple[str, ...] = ()
    engine: str = ""


# -- Amazon SES --------------------------------------------------------------------------

_SES_SUBTYPES = {
    "noemail": reasons.USERUNKNOWN,
    "suppressed": reasons.USERUNKNOWN,  # SES's own list: the address hard-bounced before
    "onaccountsuppressionlist": reasons.USERUNKNOWN,
    "mailboxfull": reasons.MAILBOXFULL,
    "messagetoolarge": reasons.MESGTOOBIG,
    "contentrejected": reasons.CONTENTERROR,
    "attachmentrejected": reasons.CONTENTERROR,
}


def ses_notification(body: str) -> Notice | None:
    """An SES Bounce, Complaint or Delivery notification in ``body``, or None."""
    # Wrapped in SNS's envelope the notification is a JSON string, its quotes escaped.
    if "notificationType" not in body and "eventType" not in body:
        return None
    data = _json_at(body, body.find("{"))
    if data is None:
        # Sendmail splits lines longer than RFC 5322's 998 characters with "!" and a
        # folded continuation; undo that before giving up on the JSON.
        body = _SPLIT_LINE_RE.sub("", body)
        data = _json_at(body, body.find("{"))
    if isinstance(data, dict) and isinstance(data.get("Message"), str):
        inner = data["Message"]
        data = _json_at(inner, inner.find("{"))
    if not isinstance(data, dict):
        return None
    kind = str(data.get("notificationType") or data.get("eventType") or "")
    mail = _dict(data.get("mail"))
    own_id = str(_dict(mail.get("commonHeaders")).get("messageId") or "")
    if not own_id:
        for header in mail.get("headers") or []:
            if isinstance(header, dict) and str(header.get("name", "")).lower() == "message-id":
                own_id = str(header.get("value", ""))
    own_id = "".join(own_id.split())
    source = first_address(str(mail.get("source", "")))
    common = {"message_id": own_id, "return_paths": (source,) if source else ()}
    if kind == "Bounce":
        bounce = _dict(data.get("bounce"))
        first = _first(bounce.get("bouncedRecipients"))
        diagnostic = str(first.get("diagnosticCode") or "")
        status = reasons.enhanced_status(str(first.get("status") or ""))
        bounce_type = str(bounce.get("bounceType") or "")
        subtype = str(bounce.get("bounceSubType") or "")
        finding = reasons.judge(diagnostic, status, source="SES diagnosticCode")
        named = _SES_SUBTYPES.get(subtype.lower())
        if named is not None and (
            finding.reason == reasons.UNDEFINED or not finding.evidence.startswith("SES")
        ):
            finding = Finding(named, True, f"SES bounceSubType: {subtype}")
        if bounce_type != "Permanent":
            finding = Finding(finding.reason, False, f"{finding.evidence} ({bounce_type})")
        return Notice(
            finding,
            "failed",
            _address(first.get("emailAddress")),
            diagnostic,
            status,
            engine="ses",
            **common,  # type: ignore[arg-type]
        )
    if kind == "Complaint":
        complaint = _dict(data.get("complaint"))
        first = _first(complaint.get("complainedRecipients"))
        feedback = str(complaint.get("complaintFeedbackType") or "abuse").lower()
        reason = reasons.UNDEFINED if feedback == "not-spam" else reasons.ABUSE
        return Notice(
            Finding(reason, False, f"SES Complaint (complaintFeedbackType: {feedback})"),
            "",
            _address(first.get("emailAddress")),
            feedback_type=feedback,
            engine="ses",
            **common,  # type: ignore[arg-type]
        )
    if kind == "Delivery":
        delivery = _dict(data.get("delivery"))
        recipients = delivery.get("recipients") or [""]
        return Notice(
            Finding(reasons.DELIVERED, False, "SES Delivery notification"),
            "delivered",
            _address(recipients[0] if isinstance(recipients, list) and recipients else ""),
            str(delivery.get("smtpResponse") or ""),
            engine="ses",
            **common,  # type: ignore[arg-type]
        )
    return None


_SPLIT_LINE_RE = re.compile(r"!\r?\n ")


def _json_at(text: str, start: int) -> Any:
    if start < 0:
        return None
    try:
        return json.JSONDecoder().raw_decode(text[start:])[0]
    except ValueError:
        return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _first(value: Any) -> dict[str, Any]:
    return _dict(value[0]) if isinstance(value, list) and value else {}


def _address(value: Any) -> str:
    return first_address(clean(str(value or "")))


# -- Microsoft JMRP ----------------------------------------------------------------------


def jmrp_complaint(message: Message) -> Notice | None:
    """A JMRP complaint (multipart/mixed with the reported message, not ARF), or None."""
    if message.get_content_type() != "multipart/mixed":
        return None
    attached = next(
        (
            inner[0]
            for part in children(message)
            if part.get_content_type() == "message/rfc822" and (inner := children(part))
        ),
        None,
    )
    if attached is None:
        return None
    sender = first_address(str(message.get("From", "")))
    original_recipient = attached.get("X-HmXmrOriginalRecipient")
    subject = header_text(message, "Subject").lower()
    if original_recipient is None and not (
        sender.endswith(("@hotmail.com", "@outlook.com")) and "complaint" in subject
    ):
        return None
    recipient = first_address(str(original_recipient or attached.get("To", "")))
    return_path = first_address(str(attached.get("Return-Path", "")))
    return Notice(
        Finding(reasons.ABUSE, False, "JMRP complaint (X-HmXmrOriginalRecipient)"),
        "",
        recipient,
        message_id=message_id(attached),
        feedback_type="abuse",
        return_paths=(return_path,) if return_path else (),
        engine="jmrp",
    )


# -- bounces in an MTA's own words -------------------------------------------------------

_ENGINES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        ("dragonfly", r"dragonfly mail agent"),
        (
            "opensmtpd",
            r"this is the mailer-daemon, please do not reply|an error has occurred "
            r"while attempting to deliver a message",
        ),
        ("qmail", r"qmail-send program|this is the qmail"),
        ("postfix", r"this is the mail system at host|the postfix program"),
        ("mailru", r"mail\.ru"),
        ("exim", r"this message was created automatically by mail delivery software"),
        ("sendmail", r"transcript of session follows|following addresses had permanent fatal"),
        ("googlegroups", r"google groups"),
        (
            "gmail",
            r"delivery to the following recipients? failed|technical details of "
            r"(permanent|temporary) failure|the response from the remote server was",
        ),
        (
            "exchange",
            r"delivery has failed to these recipients|did not reach the following "
            r"recipient|your message (couldn't|could not|wasn't|was not) (be )?delivered|"
            r"following recipient\(s\) could not be reached|diagnostic information for "
            r"administrators",
        ),
        ("yahoo", r"unable to deliver your message to the following address"),
        ("notes", r"failure reasons|was not delivered to:"),
        (
            "generic",
            r"could not be delivered to|message could not be delivered|"
            r"undeliverable (mail|message)|no valid recipients|送信できませんでした|"
            r"届けることができませんでした",
        ),
    )
)
_BOUNCE_SUBJECT_RE = re.compile(
    r"undeliver|undelivered|returned mail|returning message|delivery (status notification|"
    r"failure|failed|has failed|problem|notification)|failure notice|mail delivery|"
    r"could not be delivered|non.?delivery|not delivered|nicht zustellbar|"
    r"mail failure|delivery report|rejected|failed delivery|returned to sender|"
    r"error (sending|delivering) (your )?(mail|message)|"
    r"エラー通知|未達|不達",
    re.IGNORECASE,
)
_DAEMON_RE = re.compile(
    r"^(mailer-daemon|postmaster|mail-daemon|mailer|mmdf|smtp|mail ?delivery)", re.IGNORECASE
)
# Where the returned message (or its headers) starts in a prose bounce.
_RETURNED_RE = re.compile(
    r"^[ \t>]*(?:[-=*_]{2,}[^\n]*?)?(?:(?:this is a )?copy of the message|original message|"
    r"returned message|message headers follow|below this line is a copy|unsent message|"
    r"header of the original|undelivered message|original mail|included is a copy)",
    re.IGNORECASE | re.MULTILINE,
)
_TEMPORARY_RE = re.compile(
    r"temporar|will (continue to )?(retry|try again)|still trying|delayed|not yet been "
    r"delivered|warning:",
    re.IGNORECASE,
)
_STILL_TRYING_RE = re.compile(
    r"has not yet been delivered|delivery attempts will continue|only a temporary failure "
    r"report|will (continue to )?(retry|try again)\b.{0,60}\b(days|hours)|"
    # Gmail: "Delivery to the following recipient has been delayed … will be retried".
    r"has been delayed|will be retried",
    re.IGNORECASE,
)
_ADDRESS_RE = re.compile(r"[\w.+\-=%!#$&'*/?^`{|}~]+@[\w\-]+(?:\.[\w\-]+)+")
_ID_LINES_RE = re.compile(
    r"^[ \t>]*(message-id|references|in-reply-to|x-[\w-]+id)\s*:.*$", re.IGNORECASE | re.MULTILINE
)
_MESSAGE_ID_RE = re.compile(r"^Message-ID:\s*(<[^>\s]+>)", re.IGNORECASE | re.MULTILINE)


# Sendmail ends every transcript with its own summary, "554 5.0.0 Service unavailable",
# whatever the remote said: the engine's words, never the remote's reason.
_SENDMAIL_SUMMARY_RE = re.compile(r"^5\d\d 5\.0\.0 Service unavailable[ \t]*$", re.MULTILINE)


# A recipient's own entry in a list of failed addresses: the address at the start of a
# line, then a colon. qmail ("<reader@example.net>:" above its reason), Postfix
# ("<reader@example.net>: host … said:"), OpenSMTPD ("reader@example.net: 550 …") and
# GMX's Exim ('"reader@example.net":') each start one entry per recipient this way.
# Sendmail states one verdict line per address, its reply code first ("554
# <reader@example.net>... Remote protocol error"): each starts that address's entry too.
_ENTRY_RE = re.compile(
    r'^[ \t]*(?:[<"]?([\w.+\-=%!#$&\'*/?^`{|}~]+@[\w\-]+(?:\.[\w\-]+)+)[>"]?:|'
    r"[245]\d\d <?([\w.+\-=%!#$&'*/?^`{|}~]+@[\w\-]+(?:\.[\w\-]+)+)>?\.\.\.)",
    re.MULTILINE,
)


def explanation(body: str, recipient: str) -> str:
    """The part of a bounce's text about ``recipient``: from where it names the address
    to where the returned message starts (the engine's greeting and Sendmail's closing
    summary left out)."""
    cut = _RETURNED_RE.search(body)
    text = _SENDMAIL_SUMMARY_RE.sub("", body[: cut.start()] if cut else body)
    if recipient:
        at = text.lower().find(recipient.lower())
        if at >= 0:
            line_start = text.rfind("\n", 0, at) + 1
            text = text[line_start:]
            # Where the next recipient's own entry starts, this one's ends.
            for entry in _ENTRY_RE.finditer(text, text.find("\n") + 1):
                if (entry.group(1) or entry.group(2)).lower() != recipient.lower():
                    text = text[: entry.start()]
                    break
    return text[:4000]


# IMail delivers into its own mailboxes and states its verdict as "<reason>: <address>",
# with no remote reply ("Unknown user: reader@example.net", "Invalid final delivery userid:
# reader@example.net"): the mailbox host's own lookup. A remote's refusal it relays carries
# the remote's reply code instead.
_IMAIL_VERDICT_RE = re.compile(r"[ \t]*[A-Za-z][\w ]{2,60}: [^\s@]+@\S+[ \t]*(?:\r?\n|$)")


def preamble(body: str) -> str:
    """What a bounce's text says before its first recipient's entry (and before the
    returned message): the reporting system's own summary ("The user(s) account is
    disabled."), not any one recipient's reply."""
    cut = _RETURNED_RE.search(body)
    text = _SENDMAIL_SUMMARY_RE.sub("", body[: cut.start()] if cut else body)
    first = _ENTRY_RE.search(text)
    return text[: first.start()] if first else text


def prose_bounce(message: Message, body: str) -> Notice | None:
    """A bounce in an MTA's own words (see the module docstring), or None."""
    failed = [
        a.lower()
        for _n, a in getaddresses([str(v) for v in message.get_all("X-Failed-Recipients", [])])
        if "@" in a
    ]
    engine = next((name for name, pattern in _ENGINES if pattern.search(body[:6000])), "")
    if not engine and str(message.get("X-Mailer", "")).lstrip().upper().startswith("<SMTP32"):
        # Ipswitch IMail's SMTP service signs its own reports "X-Mailer: <SMTP32 v…>".
        engine = "imail"
    sender = str(message.get("From", ""))
    daemon = bool(_DAEMON_RE.search(first_address(sender) or sender)) or bool(
        re.search(r"mail delivery (system|subsystem)|mailer-daemon", sender, re.IGNORECASE)
    )
    subject = header_text(message, "Subject")
    flufl = _flufl(message)
    if not (failed or engine or (daemon and (_BOUNCE_SUBJECT_RE.search(subject) or flufl))):
        return None
    region_all = explanation(body, "")
    # flufl.bounce takes a Message-ID's "local@host" for an address now and then.
    outside_ids = _ID_LINES_RE.sub("", body).lower()
    flufl = [a for a in flufl if a in outside_ids]
    # flufl.bounce returns a set: take its addresses in the order the text names them, so
    # a report listing several recipients is read for the first one it lists.
    flufl.sort(key=outside_ids.find)
    recipient = (failed or flufl or [""])[0]
    if not recipient:
        own = {first_address(sender), *(a for _n, a in getaddresses(message.get_all("To", [])))}
        # An address that starts a recipient's entry before any address merely mentioned
        # ("please contact <postmaster@…>" in the engine's greeting).
        text = _ID_LINES_RE.sub("", region_all)
        entries = [e.group(1) or e.group(2) for e in _ENTRY_RE.finditer(text)]
        candidates = entries + _ADDRESS_RE.findall(text)
        recipient = next((a.lower() for a in candidates if a.lower() not in own), "")
    region = explanation(body, recipient)
    # What the report says above its first recipient's entry: its own summary.
    above = preamble(region_all)
    notes_reasons = region_all.lower().find("failure reasons") if engine == "notes" else -1
    if notes_reasons >= 0:
        # Lotus Notes writes the reason above the address, under "Failure Reasons".
        region = region_all[notes_reasons:]
    if engine == "googlegroups":
        # Google Groups answers one way for "no such group" and "you may not post to it":
        # never proof that an address is gone, always about our right to post.
        finding = Finding(reasons.REJECTED, True, "Google Groups: no such group or not allowed")
    else:
        finding = reasons.judge(
            region,
            source="text",
            after_data=reasons.refused_after_data(region) or reasons.transcript_refused_data(body),
            at_rcpt=reasons.refused_at_rcpt(region),
            own_lookup=engine == "imail" and bool(_IMAIL_VERDICT_RE.match(region)),
        )
        if finding.reason == reasons.UNDEFINED and region != region_all:
            # Some engines state the reason above the address (EZweb: "The user(s) account
            # is disabled." then the address): nothing after it, so read the whole text.
            # Only what stands above the first entry: another recipient's is not ours.
            whole = reasons.judge(above, source="text")
            if "phrase" in whole.evidence:
                finding = whole
    finding = reasons.unless_contradicted(finding, above)
    if not reasons.enhanced_status(region) and not reasons.reply_class(region):
        if _TEMPORARY_RE.search(region_all) or _TEMPORARY_RE.search(subject):
            finding = Finding(finding.reason, False, finding.evidence + " (temporary)")
    # A warning, not a failure: the engine is still trying (Exim "has not yet been
    # delivered … Delivery attempts will continue", OpenSMTPD "temporary failure report").
    delayed = bool(_STILL_TRYING_RE.search(region_all))
    original = returned_headers(children(message)) if message.is_multipart() else None
    own_id = message_id(original)
    if not own_id:
        cut = _RETURNED_RE.search(body)
        match = _MESSAGE_ID_RE.search(body, cut.start() if cut else 0)
        own_id = match.group(1) if match else ""
    if not own_id:
        own_id = "".join(str(message.get("In-Reply-To", "")).split())
    return Notice(
        Finding(finding.reason, finding.permanent, f"{engine or 'bounce'} {finding.evidence}"),
        "delayed" if delayed else "failed",
        recipient,
        region,
        reasons.enhanced_status(region),
        own_id if not _has_controls(own_id) else "",
        engine=engine or "generic",
    )


def _has_controls(text: str) -> bool:
    return clean(text) != text


def _flufl(message: Message) -> list[str]:
    """The failed addresses flufl.bounce finds (permanent first), lower-cased."""
    from flufl.bounce import all_failures

    try:
        temporary, permanent = all_failures(message)
    except Exception:  # noqa: BLE001 - a detector choking on odd input finds nothing
        return []
    found = sorted(permanent) + sorted(temporary)
    return [clean(a.decode("utf-8", "replace")).strip("<>").lower() for a in found]
