"""Reading a bounce or complaint: an ``email.message.Message`` in, a frozen report out (pure).

What can arrive at the bounce address, and what we make of it:

* a delivery status notification (RFC 3464: ``multipart/report; report-type=
  delivery-status``), whose per-recipient fields ``Action``, ``Status`` (RFC 3463 enhanced
  codes), ``Final-Recipient`` and ``Diagnostic-Code`` say what happened;
* a complaint from a feedback loop (RFC 5965 ARF: ``report-type=feedback-report``) whose
  ``Feedback-Type: abuse`` means "this is spam" (``not-spam`` means the opposite);
* a bounce in some vendor's own prose, for which flufl.bounce (Mailman's detector) finds
  the failed addresses;
* an out-of-office or other automatic reply (RFC 3834), which says nothing about delivery.

A report part wins over ``Auto-Submitted``: Postfix's own DSNs carry
``Auto-Submitted: auto-replied`` and are still bounces.

Which delivery a report is about is not decided here: :attr:`BounceReport.addresses` lists
where it was sent (the VERP return path is among them) and
:attr:`BounceReport.original_message_id` names the returned message; the services check
both against what we really sent.
"""

from __future__ import annotations

import codecs
import email
import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses, parseaddr

HARD = "hard"
SOFT = "soft"
BLOCKED = "blocked"
COMPLAINT = "complaint"
DELAYED = "delayed"
RELAYED = "relayed"
DELIVERED = "delivered"
AUTO_REPLY = "auto-reply"
UNKNOWN = "unknown"
KINDS = (HARD, SOFT, BLOCKED, COMPLAINT, DELAYED, RELAYED, DELIVERED, AUTO_REPLY, UNKNOWN)
FAILURES = (HARD, SOFT, BLOCKED)

_STATUS_RE = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_REPLY_CODE_RE = re.compile(r"^\s*([245])\d\d\b")
# A bare 5.0.0 (or no enhanced code) says nothing; these words in the server's text do.
_USER_UNKNOWN_RE = re.compile(
    r"user unknown|unknown user|no such (user|mailbox|recipient|account)|"
    r"mailbox (unavailable|not found|does not exist)|does not exist|invalid recipient|"
    r"recipient (address )?rejected|address rejected|account (has been )?disabled",
    re.IGNORECASE,
)
_POLICY_RE = re.compile(
    r"spam|blocked|block ?list|black ?list|policy|dmarc|reputation|rejected for abuse",
    re.IGNORECASE,
)
_AUTO_SUBJECT_RE = re.compile(
    r"out of (the )?office|automatic reply|auto[- ]?reply|autoreply|auto[- ]?response|"
    r"vacation|away from (my|the) (desk|office)|abwesenheit|absence|r[ée]ponse automatique|"
    r"부재|자동 ?응답",
    re.IGNORECASE,
)
# Bounds checked on the raw bytes before the parser sees them: the stdlib parser recurses
# once per nested multipart (about 1,000 levels raise RecursionError), and a real report
# is a handful of parts (RFC 3464 §2: explanation, status, returned message) around our
# own digest. A container is a multipart/* or message/* part; nesting cannot be deeper
# than the number of containers.
MAX_MIME_CONTAINERS = 64
MAX_MIME_PARTS = 1000
_CONTAINER_RE = re.compile(rb"^content-type:\s*(multipart|message)/", re.IGNORECASE | re.MULTILINE)
_PART_RE = re.compile(rb"^content-type:", re.IGNORECASE | re.MULTILINE)
# Codecs that are not charsets of text: ``idna``/``punycode`` raise on ordinary bytes even
# with errors="replace"; anything codecs does not mark as a text encoding is refused too.
_NOT_CHARSETS = frozenset({"idna", "punycode", "raw-unicode-escape", "unicode-escape"})
# NUL and the other C0 controls (but tab) have no place in a field value (RFC 5322 §2.2)
# and PostgreSQL refuses NUL in text.
_CONTROLS_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_ADDRESS_HEADERS = ("To", "Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To")


@dataclass(frozen=True)
class BounceReport:
    """What one report says. ``kind`` is one of :data:`KINDS`.

    ``status`` is the RFC 3463 code (``5.1.1``) or empty; ``final_recipient`` the address
    the report is about (lower-cased) or empty; ``addresses`` every address the report was
    sent to, envelope first (where the VERP token is); ``report_id`` a stable identity, the
    same when one report arrives twice; ``detector`` names what read it (``dsn``, ``arf``,
    ``flufl``, ``auto-reply``, ``none``).
    """

    kind: str
    status: str
    action: str
    diagnostic: str
    final_recipient: str
    original_message_id: str
    feedback_type: str
    addresses: tuple[str, ...]
    report_id: str
    detector: str


class ReportError(ValueError):
    """Raw bytes that are not read as a report (too deeply nested, too many parts)."""


def read_message(data: bytes) -> Message:
    """Parse ``data`` into a message after checking it is within the MIME bounds.

    Raises :class:`ReportError` (a one-line message) for more than
    :data:`MAX_MIME_CONTAINERS` multipart/message parts or :data:`MAX_MIME_PARTS` parts.
    """
    containers = len(_CONTAINER_RE.findall(data))
    if containers > MAX_MIME_CONTAINERS:
        raise ReportError(
            f"too deeply nested: {containers} multipart/message parts"
            f" (at most {MAX_MIME_CONTAINERS} are read)"
        )
    parts = len(_PART_RE.findall(data))
    if parts > MAX_MIME_PARTS:
        raise ReportError(f"too many MIME parts: {parts} (at most {MAX_MIME_PARTS} are read)")
    return email.message_from_bytes(data)


def clean(text: str) -> str:
    """``text`` without NUL and other control characters (each becomes a space)."""
    return _CONTROLS_RE.sub(" ", text) if _CONTROLS_RE.search(text) else text


def decode_text(payload: bytes, charset: str | None) -> str:
    """``payload`` decoded as ``charset``; an unknown or non-text codec reads as UTF-8.

    Never raises: a hostile ``charset=idna`` part is as readable as the bytes allow.
    """
    name = (charset or "utf-8").strip().lower()
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        info = codecs.lookup("utf-8")
    if info.name in _NOT_CHARSETS or not getattr(info, "_is_text_encoding", True):
        info = codecs.lookup("utf-8")
    try:
        return payload.decode(info.name, "replace")
    except (UnicodeError, LookupError, ValueError):
        return payload.decode("utf-8", "replace")


def enhanced_status(text: str) -> str:
    """The first RFC 3463 code in ``text`` (``5.7.1``), or ``""``."""
    match = _STATUS_RE.search(text)
    return ".".join(match.groups()) if match else ""


def classify_failure(status: str, diagnostic: str) -> str:
    """``hard``, ``soft`` or ``blocked`` for a failed delivery (RFC 3463 classes/subjects).

    * ``5.1.x`` bad mailbox or domain: hard; except ``5.1.7``/``5.1.8`` (our sender
      address was refused): that is about us, so blocked.
    * ``5.7.x`` security or policy (spam filter, DMARC, block list): blocked, our
      reputation and never the reader's fault.
    * ``5.0.0`` or no code: hard if the server's text says the user is unknown, blocked if
      it speaks of spam or policy, else soft.
    * anything else (``4.x.x``, ``5.2.x`` mailbox full, ``5.3.x``, ``5.4.x``…): soft.
    """
    code = status or enhanced_status(diagnostic)
    if not code:
        reply = _REPLY_CODE_RE.match(diagnostic.partition(";")[2] or diagnostic)
        code = "5.0.0" if reply and reply.group(1) == "5" else "4.0.0"
    klass, subject, detail = code.split(".")
    if klass == "4":
        return SOFT
    if subject == "7" or (subject == "1" and detail in ("7", "8")):
        return BLOCKED
    if subject == "1":
        return HARD
    if subject in ("0", "5"):
        if _USER_UNKNOWN_RE.search(diagnostic):
            return HARD
        if _POLICY_RE.search(diagnostic):
            return BLOCKED
    return SOFT


def parse_report(message: Message, envelope_recipients: Sequence[str] = ()) -> BounceReport:
    """Read ``message`` (see the module docstring for what is recognised and how)."""
    addresses = _addresses(message, envelope_recipients)
    report = _find_report(message)
    if report is not None:
        report_type, parts = report
        if report_type == "feedback-report":
            return _arf(message, parts, addresses)
        if report_type == "delivery-status":
            return _dsn(message, parts, addresses)
    if _is_auto_reply(message):
        return _report(message, AUTO_REPLY, addresses, detector="auto-reply")
    return _heuristic(message, addresses)


# -- the structure of a report -----------------------------------------------------------


def _children(message: Message) -> list[Message]:
    payload = message.get_payload()
    if isinstance(payload, list):
        return [part for part in payload if isinstance(part, Message)]
    return []


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
            children = _children(part)
            kinds = {child.get_content_type() for child in children}
            if "message/feedback-report" in kinds:
                return "feedback-report", children
            if "message/delivery-status" in kinds or "message/global-delivery-status" in kinds:
                return "delivery-status", children
            declared = str(part.get_param("report-type") or "").lower()
            return declared, children
        if content_type in ("message/delivery-status", "message/global-delivery-status"):
            return "delivery-status", [part]
        if content_type == "message/feedback-report":
            return "feedback-report", [part]
        if part.is_multipart() and content_type != "message/rfc822":
            stack.extend(_children(part))
    return None


def _field_blocks(part: Message) -> list[Message]:
    """The header blocks of a ``message/delivery-status`` or ``feedback-report`` part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    text = part.get_payload(decode=True)
    raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(payload)
    blocks = re.split(r"\r?\n\s*\r?\n", raw.strip())
    return [HeaderParser().parsestr(block) for block in blocks if block.strip()]


def _returned_headers(parts: Sequence[Message]) -> Message | None:
    """The headers of the returned message (``message/rfc822`` or ``text/rfc822-headers``)."""
    for part in parts:
        content_type = part.get_content_type()
        if content_type in ("message/rfc822", "message/global"):
            inner = _children(part)
            if inner:
                return inner[0]
        if content_type in ("text/rfc822-headers", "message/global-headers"):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return HeaderParser().parsestr(payload.decode("utf-8", "replace"))
    return None


def _value(block: Message, name: str) -> str:
    raw = block.get(name)
    return " ".join(clean(str(raw)).split()) if raw is not None else ""


def _typed_address(value: str) -> str:
    """``rfc822; Reader@Example.org`` -> ``reader@example.org`` (RFC 3464 §2.3.2)."""
    _kind, semicolon, address = value.partition(";")
    address = clean(address if semicolon else value).strip().strip("<>").strip()
    return address.lower() if "@" in address and " " not in address else ""


def _message_id(headers: Message | None) -> str:
    if headers is None:
        return ""
    value = "".join(str(headers.get("Message-ID", "")).split())
    # A Message-ID with a control character in it (NUL…) is none we wrote (RFC 5322
    # §3.6.4 msg-id is printable ASCII): it names nothing, rather than a cleaned lookalike.
    return "" if _CONTROLS_RE.search(value) else value[:998]


# -- the kinds of report -----------------------------------------------------------------


def _dsn(message: Message, parts: list[Message], addresses: tuple[str, ...]) -> BounceReport:
    status_part = next((p for p in parts if p.get_content_type().endswith("delivery-status")), None)
    blocks = _field_blocks(status_part) if status_part is not None else []
    # The first block is about the message (Reporting-MTA …); the rest one per recipient.
    recipients = [b for b in blocks if b.get("Final-Recipient") or b.get("Action")]
    chosen = next(
        (b for b in recipients if _value(b, "Action").lower() == "failed"),
        recipients[0] if recipients else None,
    )
    original = _returned_headers(parts)
    if chosen is None:
        return _report(message, UNKNOWN, addresses, _message_id(original), detector="dsn")
    action = _value(chosen, "Action").lower()
    diagnostic = _value(chosen, "Diagnostic-Code")
    status = enhanced_status(_value(chosen, "Status")) or enhanced_status(diagnostic)
    recipient = _typed_address(_value(chosen, "Final-Recipient")) or _typed_address(
        _value(chosen, "Original-Recipient")
    )
    if action == "failed":
        kind = classify_failure(status, diagnostic)
    elif action == "delayed":
        kind = DELAYED
    elif action in ("relayed", "expanded"):
        kind = RELAYED
    elif action == "delivered":
        kind = DELIVERED
    else:
        kind = UNKNOWN
    return BounceReport(
        kind=kind,
        status=status,
        action=action,
        diagnostic=diagnostic[:2000],
        final_recipient=recipient,
        original_message_id=_message_id(original),
        feedback_type="",
        addresses=addresses,
        report_id=_report_id(message, recipient, status, action),
        detector="dsn",
    )


def _arf(message: Message, parts: list[Message], addresses: tuple[str, ...]) -> BounceReport:
    feedback = next((p for p in parts if p.get_content_type() == "message/feedback-report"), None)
    blocks = _field_blocks(feedback) if feedback is not None else []
    fields = blocks[0] if blocks else Message()
    feedback_type = _value(fields, "Feedback-Type").lower()
    original = _returned_headers(parts)
    recipient = _typed_address(_value(fields, "Original-Rcpt-To"))
    if not recipient and original is not None:
        recipient = _first_address(str(original.get("To", "")))
    # The complained-about message went out with our VERP return path: RFC 5965 §3.2 gives
    # it as Original-Mail-From, and the returned headers may keep it as Return-Path.
    extra = [_value(fields, "Original-Mail-From")]
    if original is not None:
        extra.append(str(original.get("Return-Path", "")))
    more = tuple(a for a in (_first_address(e) for e in extra) if a and a not in addresses)
    # abuse (and fraud, a worse form of it) is a complaint; not-spam, virus, other are not.
    kind = COMPLAINT if feedback_type in ("abuse", "fraud") else UNKNOWN
    return BounceReport(
        kind=kind,
        status="",
        action="",
        diagnostic=_header_text(message, "Subject")[:2000],
        final_recipient=recipient,
        original_message_id=_message_id(original),
        feedback_type=feedback_type,
        addresses=addresses + more,
        report_id=_report_id(message, recipient, feedback_type, "feedback"),
        detector="arf",
    )


def _heuristic(message: Message, addresses: tuple[str, ...]) -> BounceReport:
    """A bounce in an MTA's own words: flufl.bounce finds the failed addresses."""
    from flufl.bounce import all_failures

    try:
        temporary, permanent = all_failures(message)
    except Exception:  # noqa: BLE001 - a detector choking on odd input is "no verdict"
        temporary, permanent = frozenset(), frozenset()
    found = sorted(permanent) or sorted(temporary)
    if not found:
        return _report(message, UNKNOWN, addresses, detector="none")
    recipient = clean(found[0].decode("utf-8", "replace")).strip("<>").lower()
    body = _text_of(message)
    original = _returned_headers(_children(message)) if message.is_multipart() else None
    message_id = _message_id(original)
    if not message_id:
        match = re.search(r"^Message-ID:\s*(<[^>\s]+>)", body, re.IGNORECASE | re.MULTILINE)
        message_id = match.group(1) if match else ""
    status = enhanced_status(body)
    if permanent:
        kind = classify_failure(status, body) if status.startswith("5") else HARD
        if not status and _POLICY_RE.search(body) and not _USER_UNKNOWN_RE.search(body):
            kind = BLOCKED
    else:
        kind = SOFT
    diagnostic = " ".join(clean(body).split())[:500]
    return BounceReport(
        kind=kind,
        status=status,
        action="failed",
        diagnostic=diagnostic,
        final_recipient=recipient,
        original_message_id=message_id,
        feedback_type="",
        addresses=addresses,
        report_id=_report_id(message, recipient, status, "failed"),
        detector="flufl",
    )


def _report(
    message: Message,
    kind: str,
    addresses: tuple[str, ...],
    message_id: str = "",
    *,
    detector: str,
) -> BounceReport:
    return BounceReport(
        kind=kind,
        status="",
        action="",
        diagnostic=_header_text(message, "Subject")[:2000],
        final_recipient="",
        original_message_id=message_id,
        feedback_type="",
        addresses=addresses,
        report_id=_report_id(message, "", "", kind),
        detector=detector,
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
    if precedence.strip() == "auto_reply":
        return True
    return bool(_AUTO_SUBJECT_RE.search(_header_text(message, "Subject")))


def _header_text(message: Message, name: str) -> str:
    raw = message.get(name)
    if raw is None:
        return ""
    try:
        text = str(make_header(decode_header(str(raw))))
    except (ValueError, LookupError):
        text = str(raw)
    return " ".join(clean(text).split())


def _first_address(value: str) -> str:
    address = clean(parseaddr(value)[1]).strip().lower()
    return address if "@" in address and " " not in address else ""


def _addresses(message: Message, envelope: Sequence[str]) -> tuple[str, ...]:
    found: list[str] = [clean(a).strip().strip("<>").lower() for a in envelope if "@" in a]
    for name in _ADDRESS_HEADERS:
        values = [str(v) for v in message.get_all(name, [])]
        for _name, address in getaddresses(values):
            address = clean(address).strip().lower()
            if "@" in address and " " not in address and address not in found:
                found.append(address)
    return tuple(found)


def _text_of(message: Message) -> str:
    """The text parts of ``message``, outside any returned message, joined."""
    out: list[str] = []
    for part in _walk_outside_returned(message):
        if part.get_content_maintype() == "text" and part.get_content_type() != (
            "text/rfc822-headers"
        ):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                out.append(decode_text(payload, _charset(part)))
    return "\n".join(out)


def _charset(part: Message) -> str | None:
    try:
        return part.get_content_charset()
    except (LookupError, UnicodeError, ValueError):
        return None


def _walk_outside_returned(message: Message) -> Iterator[Message]:
    yield message
    if message.get_content_type() == "message/rfc822":
        return
    for child in _children(message):
        yield from _walk_outside_returned(child)


def _report_id(message: Message, recipient: str, status: str, action: str) -> str:
    """The same for one report however often it arrives (a retried SMTP delivery, a copy
    in the mailbox and in an import): the reporter's Message-ID and what it says, or, for
    a report without one, its body (headers such as Received differ between copies)."""
    own_id = _message_id(message)
    if own_id:
        basis = f"id\0{own_id}\0{recipient}\0{status}\0{action}".encode()
    else:
        data = message.as_bytes()
        _head, _sep, body = data.replace(b"\r\n", b"\n").partition(b"\n\n")
        basis = b"body\0" + body
    return hashlib.sha256(basis).hexdigest()
