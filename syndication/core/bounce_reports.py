"""Reading a bounce or complaint: an ``email.message.Message`` in, a frozen report out (pure).

What arrives at the bounce address, and how each is read (first that applies):

* an Amazon SES notification as JSON (an SNS e-mail subscription: ``notificationType``
  Bounce, Complaint or Delivery), in :mod:`syndication.core.bounce_formats`;
* a complaint from a feedback loop: RFC 5965 ARF (``report-type=feedback-report``,
  ``Feedback-Type: abuse`` or ``opt-out``), or Microsoft's JMRP (multipart/mixed with the
  complained-about message attached, not ARF);
* a delivery status notification (RFC 3464 ``multipart/report; report-type=
  delivery-status``): the per-recipient ``Action``, ``Status`` and ``Diagnostic-Code``;
* a bounce in an MTA's own words (Exim's default, qmail, Sendmail, Exchange, Gmail,
  Yahoo, mail.ru, DragonFly DMA, OpenSMTPD, Lotus Notes…), recognised by its own markers
  (``X-Failed-Recipients``, a mailer-daemon sender, the engine's sentences); the failed
  address comes from ``X-Failed-Recipients``, the text, or flufl.bounce;
* an out-of-office or other automatic reply (RFC 3834): reason ``vacation``.

Why it failed is :func:`syndication.core.bounce_reasons.judge`'s: the remote server's own
text first, its code next, the report's ``Status:`` last. A bounce marker outranks
``Auto-Submitted``: Postfix's DSNs and Exim's bounces carry ``Auto-Submitted:
auto-replied`` and are still bounces.

Which delivery a report is about is not decided here: :attr:`BounceReport.addresses` lists
where it was sent (the VERP return path is among them) and
:attr:`BounceReport.original_message_id` names the returned message; the services check
both against what we really sent.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses

from syndication.core import bounce_formats as formats
from syndication.core import bounce_reasons as reasons
from syndication.core.bounce_mime import (
    children,
    clean,
    field_blocks,
    field_value,
    first_address,
    header_text,
    message_id,
    returned_headers,
    text_of,
    typed_address,
)
from syndication.core.bounce_reasons import Finding

_AUTO_SUBJECT_RE = re.compile(
    r"out of (the )?office|automatic reply|auto[- ]?reply|autoreply|auto[- ]?response|"
    r"vacation|away from (my|the) (desk|office)|abwesenheit|absence|r[ée]ponse automatique|"
    # "automatic reply" in German, Dutch, Spanish, Portuguese, Italian, Polish, the
    # Scandinavian languages, Japanese and Chinese.
    r"automatische (antwort|antwoord)|respuesta autom[áa]tica|resposta autom[áa]tica|"
    r"risposta automatica|automatyczna odpowied|autosvar|自動応答|自動返信|自动回复|自動回覆|"
    r"부재|자동 ?응답",
    re.IGNORECASE,
)
_ADDRESS_HEADERS = ("To", "Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To")


@dataclass(frozen=True)
class BounceReport:
    """What one report says.

    ``reason`` is one of :data:`syndication.core.bounce_reasons.REASONS`, ``permanent``
    whether the failure was given as permanent, ``evidence`` one line naming the field,
    code or phrase that decided it. ``action`` is the DSN's (``failed``, ``delayed``,
    ``delivered``…; ``failed`` for a prose bounce, ``""`` for complaints and replies).
    ``status`` is the RFC 3463 code or empty; ``final_recipient`` the address the report
    names (lower-cased) or empty; ``addresses`` every address the report was sent to,
    envelope first (where the VERP token is); ``report_id`` a stable identity, the same
    when one report arrives twice; ``detector`` names what read it (``dsn``, ``arf``,
    ``jmrp``, ``ses``, ``prose:<engine>``, ``auto-reply``, ``none``).
    """

    reason: str
    permanent: bool
    evidence: str
    action: str
    status: str
    diagnostic: str
    final_recipient: str
    original_message_id: str
    feedback_type: str
    addresses: tuple[str, ...]
    report_id: str
    detector: str

    @property
    def finding(self) -> Finding:
        return Finding(self.reason, self.permanent, self.evidence)


def parse_report(message: Message, envelope_recipients: Sequence[str] = ()) -> BounceReport:
    """Read ``message`` (see the module docstring for what is recognised and how)."""
    addresses = _addresses(message, envelope_recipients)
    body = text_of(message)
    ses = formats.ses_notification(body)
    if ses is not None:
        return _from_notice(message, ses, addresses, "ses")
    report = _find_report(message)
    if report is not None:
        report_type, parts = report
        if report_type == "feedback-report":
            return _arf(message, parts, addresses)
        if report_type == "delivery-status":
            dsn = _dsn(message, parts, addresses, body)
            if dsn is not None:
                return dsn
    jmrp = formats.jmrp_complaint(message)
    if jmrp is not None:
        return _from_notice(message, jmrp, addresses, "jmrp")
    prose = formats.prose_bounce(message, body)
    if prose is not None:
        return _from_notice(message, prose, addresses, f"prose:{prose.engine}")
    if _is_auto_reply(message):
        return _plain(message, reasons.VACATION, addresses, "RFC 3834 automatic reply")
    return _plain(message, reasons.UNDEFINED, addresses, "not a report we can read", "none")


# -- the structure of a report -----------------------------------------------------------


def _find_report(message: Message) -> tuple[str, list[Message]] | None:
    """The first ``multipart/report`` (or a bare report part), not inside a returned message.

    Only the report's own structure counts: a bounce of a bounce carries an older report
    inside its ``message/rfc822`` part, which is not what this one says.
    """
    stack = [message]
    while stack:
        part = stack.pop(0)
        content_type = part.get_content_type()
        if content_type == "multipart/report":
            parts = children(part)
            kinds = {child.get_content_type() for child in parts}
            if "message/feedback-report" in kinds:
                return "feedback-report", parts
            if "message/delivery-status" in kinds or "message/global-delivery-status" in kinds:
                return "delivery-status", parts
            declared = str(part.get_param("report-type") or "").lower()
            return declared, parts
        if content_type in ("message/delivery-status", "message/global-delivery-status"):
            return "delivery-status", [part]
        if content_type == "message/feedback-report":
            return "feedback-report", [part]
        if part.is_multipart() and content_type != "message/rfc822":
            stack.extend(children(part))
    return None


# -- the kinds of report -----------------------------------------------------------------


def _dsn(
    message: Message, parts: list[Message], addresses: tuple[str, ...], body: str
) -> BounceReport | None:
    """RFC 3464: the first recipient block that failed (else the first one)."""
    status_part = next((p for p in parts if p.get_content_type().endswith("delivery-status")), None)
    blocks = field_blocks(status_part) if status_part is not None else []
    # The first block is about the message (Reporting-MTA …); the rest one per recipient.
    recipients = [b for b in blocks if b.get("Final-Recipient") or b.get("Action")]
    chosen = next(
        (b for b in recipients if field_value(b, "Action").lower() == "failed"),
        recipients[0] if recipients else None,
    )
    if chosen is None:
        return None
    original = returned_headers(parts)
    action = field_value(chosen, "Action").lower()
    diagnostic = field_value(chosen, "Diagnostic-Code")
    diagnostic_type, _semicolon, reply = diagnostic.partition(";")
    status = reasons.enhanced_status(field_value(chosen, "Status"))
    # "X-Unix" (RFC 3464 §2.3.6 lets an MTA name its own diagnostic types) is a local
    # program's output: Postfix's pipe(8) and local(8) command deliveries, whose Status is
    # the MTA's mapping of the program's exit code (sysexits EX_NOUSER 67 -> 5.1.1), not a
    # mailbox lookup. Its class stays; its detail is no evidence of a reason.
    judged_status = (
        f"{status[:1]}.0.0" if status and diagnostic_type.strip().lower() == "x-unix" else status
    )
    recipient = typed_address(field_value(chosen, "Final-Recipient")) or typed_address(
        field_value(chosen, "Original-Recipient")
    )
    if action in ("delivered", "relayed", "expanded"):
        finding = Finding(reasons.DELIVERED, False, f"Action: {action}")
    else:
        explanation = formats.explanation(body, recipient)
        after_data = reasons.refused_after_data(explanation) or reasons.transcript_refused_data(
            body
        )
        at_rcpt = any(
            reasons.refused_at_rcpt(text)
            for text in (explanation, diagnostic, field_value(chosen, "Status"))
        )
        finding = reasons.judge(
            reply or diagnostic, judged_status, after_data=after_data, at_rcpt=at_rcpt
        )
        if finding.reason == reasons.UNDEFINED or finding.evidence.startswith("Status"):
            # Nothing specific from the remote: the explanation the reporting MTA wrote
            # (it quotes the remote's reply when the DSN field has none).
            explained = reasons.judge(
                explanation, judged_status, source="text", after_data=after_data, at_rcpt=at_rcpt
            )
            if explained.reason != reasons.UNDEFINED and not explained.evidence.startswith(
                "Status"
            ):
                finding = explained
        elif finding.reason in reasons.ADDRESS_GONE and not finding.permanent:
            # Words alone in the remote's reply; the reporting MTA's own text may hold
            # what agrees with them (Sendmail's per-address verdict, the RCPT stage).
            explained = reasons.judge(
                explanation, judged_status, source="text", after_data=after_data, at_rcpt=at_rcpt
            )
            if explained.reason in reasons.ADDRESS_GONE and explained.permanent:
                finding = explained
        # The reporting system's own text may say the mailbox exists (full, disabled).
        finding = reasons.unless_contradicted(finding, formats.preamble(body) + "\n" + explanation)
    return BounceReport(
        reason=finding.reason,
        permanent=finding.permanent,
        evidence=finding.evidence,
        action=action or "failed",
        status=status or reasons.enhanced_status(diagnostic),
        diagnostic=diagnostic[:2000],
        final_recipient=recipient,
        original_message_id=message_id(original),
        feedback_type="",
        addresses=addresses,
        report_id=_report_id(message, recipient, status, action),
        detector="dsn",
    )


def _arf(message: Message, parts: list[Message], addresses: tuple[str, ...]) -> BounceReport:
    """RFC 5965: ``abuse`` (and ``fraud``) complain, ``opt-out`` (RFC 6650) unsubscribes."""
    feedback = next((p for p in parts if p.get_content_type() == "message/feedback-report"), None)
    blocks = field_blocks(feedback) if feedback is not None else []
    fields = blocks[0] if blocks else Message()
    feedback_type = field_value(fields, "Feedback-Type").lower()
    original = returned_headers(parts)
    recipient = typed_address(field_value(fields, "Original-Rcpt-To"))
    if not recipient and original is not None:
        recipient = first_address(str(original.get("To", "")))
    # The complained-about message went out with our VERP return path: RFC 5965 §3.2 gives
    # it as Original-Mail-From, and the returned headers may keep it as Return-Path.
    extra = [field_value(fields, "Original-Mail-From")]
    if original is not None:
        extra.append(str(original.get("Return-Path", "")))
    more = tuple(a for a in (first_address(e) for e in extra) if a and a not in addresses)
    if feedback_type in ("abuse", "fraud"):
        reason = reasons.ABUSE
    elif feedback_type in ("opt-out", "unsubscribe"):
        reason = reasons.OPT_OUT
    else:
        # not-spam, virus, auth-failure, other: about the message or us, not a request.
        reason = reasons.UNDEFINED
    return BounceReport(
        reason=reason,
        permanent=False,
        evidence=f"ARF Feedback-Type: {feedback_type or '(none)'}",
        action="",
        status="",
        diagnostic=header_text(message, "Subject")[:2000],
        final_recipient=recipient,
        original_message_id=message_id(original),
        feedback_type=feedback_type,
        addresses=addresses + more,
        report_id=_report_id(message, recipient, feedback_type, "feedback"),
        detector="arf",
    )


def _from_notice(
    message: Message, notice: formats.Notice, addresses: tuple[str, ...], detector: str
) -> BounceReport:
    """A report one of :mod:`bounce_formats` read (SES JSON, JMRP, an MTA's prose)."""
    more = tuple(a for a in notice.return_paths if a and a not in addresses)
    recipient = notice.recipient
    return BounceReport(
        reason=notice.finding.reason,
        permanent=notice.finding.permanent,
        evidence=notice.finding.evidence,
        action=notice.action,
        status=notice.status,
        diagnostic=" ".join(clean(notice.diagnostic).split())[:2000],
        final_recipient=recipient,
        original_message_id=notice.message_id,
        feedback_type=notice.feedback_type,
        addresses=addresses + more,
        report_id=_report_id(message, recipient, notice.status, notice.finding.reason),
        detector=detector,
    )


def _plain(
    message: Message, reason: str, addresses: tuple[str, ...], evidence: str, detector: str = ""
) -> BounceReport:
    return BounceReport(
        reason=reason,
        permanent=False,
        evidence=evidence,
        action="",
        status="",
        diagnostic=header_text(message, "Subject")[:2000],
        final_recipient="",
        original_message_id="",
        feedback_type="",
        addresses=addresses,
        report_id=_report_id(message, "", "", reason),
        detector=detector or "auto-reply",
    )


# -- helpers -----------------------------------------------------------------------------


def _is_auto_reply(message: Message) -> bool:
    """RFC 3834 ``Auto-Submitted`` other than ``no``, vendor markers, or a vacation subject."""
    auto = str(message.get("Auto-Submitted", "")).strip().lower()
    if auto and auto != "no":
        return True
    if message.get("X-Autoreply") or message.get("X-Autorespond"):
        return True
    precedence = str(message.get("Precedence", message.get("X-Precedence", ""))).lower()
    # Sendmail's precedence classes: "junk" is what vacation(1) and many responders mark
    # their replies with, "bulk" most others. A message that is no report, sent to the
    # return path (where only machines write), and marked so is an automatic reply.
    if precedence.strip() in ("auto_reply", "junk", "bulk"):
        return True
    return bool(_AUTO_SUBJECT_RE.search(header_text(message, "Subject")))


def _addresses(message: Message, envelope: Sequence[str]) -> tuple[str, ...]:
    found: list[str] = [clean(a).strip().strip("<>").lower() for a in envelope if "@" in a]
    for name in _ADDRESS_HEADERS:
        values = [str(v) for v in message.get_all(name, [])]
        for _name, address in getaddresses(values):
            address = clean(address).strip().lower()
            if "@" in address and " " not in address and address not in found:
                found.append(address)
    return tuple(found)


def _report_id(message: Message, recipient: str, status: str, action: str) -> str:
    """The same for one report however often it arrives (a retried SMTP delivery, a copy
    in the mailbox and in an import): the reporter's Message-ID and what it says, or, for
    a report without one, its body (headers such as Received differ between copies)."""
    own_id = message_id(message)
    if own_id:
        basis = f"id\0{own_id}\0{recipient}\0{status}\0{action}".encode()
    else:
        data = message.as_bytes()
        _head, _sep, body = data.replace(b"\r\n", b"\n").partition(b"\n\n")
        basis = b"body\0" + body
    return hashlib.sha256(basis).hexdigest()
