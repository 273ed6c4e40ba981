"""The one address policy: which e-mail addresses we accept, and how they go in a header.

Input (a sign-up, a CSV row, an operator's command) is checked by ``email-validator``
(RFC 5321/5322 syntax, IDNA domains, no special-use domains such as ``.test``); we accept
ASCII local parts only and store the address lower-cased with its domain in ASCII
(punycode), so one mailbox is one row. No DNS lookups: this is a syntax check, and the
double opt-in proves the mailbox.

Output (a header we write) uses :func:`header_safe`, a cheap check that runs once per
recipient: an address we write never carries white space, a second ``@``, angle brackets
or a CR/LF that could start a header of its own. It is defined with the settings, which
sit below the core and judge ``[mail] from`` with it at start.
"""

from __future__ import annotations

from syndication.settings.model import header_safe as header_safe

MAX_ADDRESS = 254  # RFC 5321 4.5.3.1.3 (path 256, less the angle brackets)


class AddressError(ValueError):
    """Not an address we can mail; the message says why, for the person who typed it."""


def normalise_address(raw: str) -> str:
    """The canonical form of ``raw`` (trimmed, lower-case, ASCII domain) or AddressError."""
    # Imported here: reading the store (status, serve) never validates an address.
    from email_validator import EmailNotValidError, validate_email

    address = raw.strip()
    if not address:
        raise AddressError("missing")
    try:
        checked = validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise AddressError(f"{address!r} is not a valid e-mail address: {exc}") from None
    canonical = (checked.ascii_email or checked.normalized).lower()
    if len(canonical) > MAX_ADDRESS:
        raise AddressError(f"{address!r} is longer than {MAX_ADDRESS} characters")
    return canonical
