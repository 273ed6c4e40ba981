"""Privacy rules (pure): the keyed hash an erased address leaves, and what a refusal says.

GDPR article 17 and Korea's PIPA article 21 ask us to delete what we hold about a person
who asks, and to delete records we no longer need; article 7(1) GDPR and PIPA article 22
ask us to be able to show how consent was given. What is left of an erased address is
HMAC-SHA256 of its canonical (lower-case) form with the service's secret key: the same
address typed again matches, but a copy of the database alone does not say whose it was,
since a dictionary of addresses is useless without the key (a plain SHA-256 of an address
is reversed in seconds by hashing a list of likely ones).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from syndication.core.signing import sign

ERASED = "erased"  # `subscribers erase`: the person asked us to forget them
UNSUBSCRIBED = "unsubscribed"  # an unsubscribed record deleted after its retention
SUPPRESSED = "suppressed"  # the same, for an address that was on the suppression list

# The methods a consent record names (store.models.ConsentRecord.method).
WEB_FORM = "web form"
COMMAND_LINE = "command line"
IMPORT = "import"
API = "api"
PREFERENCES = "preferences link"
UNRECORDED = "unrecorded"  # confirmed through a request made before records were kept

# How a request was confirmed (store.models.ConsentRecord.confirmation).
BY_LINK = "followed the link in the confirmation mail"
BY_OPERATOR = "attested by the operator (--confirmed): consent given elsewhere"
BY_PREFERENCES = "chose lists on the preferences page (link from our mail)"


@dataclass(frozen=True)
class ConsentSource:
    """Where a sign-up request comes from, for its consent record.

    ``method`` is one of the names above; ``origin`` the form's address, the file
    imported or the operator; ``client_ip`` the web client's address (form only).
    """

    method: str
    origin: str = ""
    client_ip: str = ""


def address_hash(secret: str, canonical_address: str) -> str:
    """The keyed hash stored for an erased address: 64 hex digits.

    ``canonical_address`` is the normalised (lower-case) address, so any spelling of the
    same mailbox gives the same hash. The message is prefixed, so the hash is never equal
    to any other value the service signs with the same key.
    """
    if not secret:
        raise ValueError("an address hash needs the service's secret key")
    return sign(secret, f"erased-address:{canonical_address}", 32).hex()


def refusal(address: str, reason: str) -> str:
    """Why an add or import of ``address`` is refused, for the operator who typed it."""
    if reason == ERASED:
        return (
            f"{address} was erased at the person's request (subscribers erase) and is never "
            "re-added"
        )
    if reason == SUPPRESSED:
        return (
            f"{address} was on the suppression list and its record was deleted after the "
            "retention period ([privacy] unsubscribed_days); it is never re-added"
        )
    return (
        f"{address} unsubscribed and its record was deleted after the retention period "
        "([privacy] unsubscribed_days); it is never re-added by an add or an import "
        "(the person may subscribe again through the form)"
    )


def blocks_sign_up(reason: str) -> bool:
    """Whether the public form leaves an address with this hash alone.

    An erased person asked to be forgotten, and a suppressed address is never mailed: the
    form leaves both alone. An unsubscribed record that expired keeps the promise the
    record made: the form (with its double opt-in, as for an unsubscribed reader) may
    bring them back; an add or import may not.
    """
    return reason != UNSUBSCRIBED


def expiry(now: datetime, days: int) -> datetime:
    """The moment before which a record ``days`` old has expired."""
    return now - timedelta(days=days)
