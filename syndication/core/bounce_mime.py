"""Reading raw mail safely (pure): bounded parsing, safe charsets, clean field values.

Everything a report's reader needs from the MIME structure: the parts outside a returned
message, their text whatever charset they claim, the header blocks of a report part
(RFC 3464 §2, RFC 5965 §3), and field values without the control characters a hostile
report can put there (PostgreSQL refuses NUL in text).
"""

from __future__ import annotations

import codecs
import email
import re
from collections.abc import Iterator, Sequence
from email.header import decode_header, make_header
from email.message import Message
from email.parser import HeaderParser
from email.utils import parseaddr

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
CONTROLS_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


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
    return email.message_from_bytes(_unix_lines(data))


def _unix_lines(data: bytes) -> bytes:
    """``data`` with old Mac OS line ends (a bare CR) as LF. Such reports exist (saved by
    classic Mac mail programs, or relayed through gateways that kept them); the parser
    reads their headers but the body is one line, so nothing in it could be found.
    CRLF and LF messages are returned as they are."""
    if b"\r" not in data or b"\n" in data[:4096]:
        return data
    return data.replace(b"\r", b"\n")


def clean(text: str) -> str:
    """``text`` without NUL and other control characters (each becomes a space)."""
    return CONTROLS_RE.sub(" ", text) if CONTROLS_RE.search(text) else text


def decode_text(payload: bytes, charset: str | None) -> str:
    """``payload`` decoded as ``charset``; an unknown or non-text codec reads as UTF-8.

    Never raises: a hostile ``charset=idna`` part is as readable as the bytes allow.
    """
    name = (charset or "utf-8").strip().lower()
    if _JIS_ESCAPE in payload and name in _ASCII_NAMES:
        # ISO-2022-JP announces itself by its escape sequences; Japanese systems (Lotus
        # Notes, carriers' gateways) send it undeclared or declared as ASCII.
        name = "iso-2022-jp"
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


def children(message: Message) -> list[Message]:
    """The sub-parts of a multipart (or the message of a message/rfc822 part)."""
    payload = message.get_payload()
    if isinstance(payload, list):
        return [part for part in payload if isinstance(part, Message)]
    return []


def field_blocks(part: Message) -> list[Message]:
    """The header blocks of a ``message/delivery-status`` or ``feedback-report`` part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    text = part.get_payload(decode=True)
    raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(payload)
    blocks = re.split(r"\r?\n\s*\r?\n", raw.strip())
    return [HeaderParser().parsestr(block) for block in blocks if block.strip()]


def returned_headers(parts: Sequence[Message]) -> Message | None:
    """The headers of the returned message (``message/rfc822`` or ``text/rfc822-headers``)."""
    for part in parts:
        content_type = part.get_content_type()
        if content_type in ("message/rfc822", "message/global"):
            inner = children(part)
            if inner:
                return inner[0]
        if content_type in ("text/rfc822-headers", "message/global-headers"):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return HeaderParser().parsestr(payload.decode("utf-8", "replace"))
    return None


def field_value(block: Message, name: str) -> str:
    """A field of a report block, unfolded, without control characters; ``""`` if absent.

    ISO-2022-JP in a field (Domino writes its Japanese ``Diagnostic-Code`` so) is decoded:
    its escape sequences are control characters, and without them the text is lost."""
    raw = block.get(name)
    if raw is None:
        return ""
    text = str(raw)
    if _JIS_ESCAPE.decode() in text:
        try:
            text = text.encode("ascii", "surrogateescape").decode("iso-2022-jp")
        except UnicodeError:
            pass  # not ISO-2022-JP after all: read as it is
    return " ".join(clean(text).split())


_JIS_ESCAPE = b"\x1b$B"  # ISO-2022-JP: switch to JIS X 0208 (RFC 1468)
_ASCII_NAMES = frozenset({"utf-8", "us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1"})


def typed_address(value: str) -> str:
    """``rfc822; Reader@Example.org`` -> ``reader@example.org`` (RFC 3464 §2.3.2)."""
    _kind, semicolon, address = value.partition(";")
    address = clean(address if semicolon else value).strip().strip("<>").strip()
    return address.lower() if "@" in address and " " not in address else ""


def message_id(headers: Message | None) -> str:
    """The ``Message-ID`` of ``headers`` (whitespace removed), or ``""``."""
    if headers is None:
        return ""
    value = "".join(str(headers.get("Message-ID", "")).split())
    # A Message-ID with a control character in it (NUL…) is none we wrote (RFC 5322
    # §3.6.4 msg-id is printable ASCII): it names nothing, rather than a cleaned lookalike.
    return "" if CONTROLS_RE.search(value) else value[:998]


def header_text(message: Message, name: str) -> str:
    """A header field decoded (RFC 2047 encoded words), unfolded, without controls."""
    raw = message.get(name)
    if raw is None:
        return ""
    try:
        text = str(make_header(decode_header(str(raw))))
    except (ValueError, LookupError):
        text = str(raw)
    return " ".join(clean(text).split())


def first_address(value: str) -> str:
    """The address in ``Name <addr>`` (lower-cased), or ``""`` when there is none."""
    address = clean(parseaddr(value)[1]).strip().lower()
    return address if "@" in address and " " not in address else ""


def text_of(message: Message) -> str:
    """The text parts of ``message``, outside any returned message, joined.

    HTML parts count only when there is no plain one (Exchange and Office 365 send both),
    read without their tags.
    """
    plain: list[str] = []
    html: list[str] = []
    for part in walk_outside_returned(message):
        content_type = part.get_content_type()
        broken = part.is_multipart() is False and part.get_content_maintype() == "multipart"
        if broken:
            # A multipart whose boundary never occurs (a broken or hand-edited report):
            # its whole body is the only text there is.
            plain.append(str(part.get_payload()))
            continue
        if part.get_content_maintype() != "text" or content_type == "text/rfc822-headers":
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            text = decode_text(payload, charset_of(part))
            if content_type == "text/html":
                html.append(_TAG_RE.sub(" ", _BLOCK_RE.sub("\n", text)).replace("&nbsp;", " "))
            else:
                plain.append(text)
    return "\n".join(plain or html)


_BLOCK_RE = re.compile(r"<(br|/p|/div|/tr|/li)\b[^>]*>", re.IGNORECASE)
_TAG_RE = re.compile(r"<[^>]*>")


def charset_of(part: Message) -> str | None:
    """The part's declared charset, or None when even reading the parameter fails."""
    try:
        return part.get_content_charset()
    except (LookupError, UnicodeError, ValueError):
        return None


_REPORT_PARTS = frozenset(
    {"message/delivery-status", "message/global-delivery-status", "message/feedback-report"}
)


def walk_outside_returned(message: Message) -> Iterator[Message]:
    """``message`` and its parts, not descending into a returned ``message/rfc822`` nor
    into what follows the report part of a ``multipart/report`` (RFC 6522 §3: the returned
    message or its headers, whatever type the reporting MTA gave them: Oracle Messaging
    Server sends the returned headers as ``text/plain``)."""
    yield message
    if message.get_content_type() == "message/rfc822":
        return
    report = message.get_content_type() == "multipart/report"
    for child in children(message):
        yield from walk_outside_returned(child)
        if report and child.get_content_type() in _REPORT_PARTS:
            return
