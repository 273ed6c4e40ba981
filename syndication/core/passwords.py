"""Password hashing for console users: Argon2id (RFC 9106) through argon2-cffi.

The parameters are argon2-cffi's defaults, RFC 9106's "second recommended option" (t=3,
64 MiB, p=4). A stored hash carries its own parameters, so raising them later only needs
:func:`needs_rehash` at the next sign-in. Nothing here does I/O.
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from syndication.errors import InputError

MIN_LENGTH = 12
MAX_LENGTH = 1024  # Argon2 takes any length; a cap keeps a hostile form from costing much

_hasher = PasswordHasher()


@cache
def _decoy() -> str:
    # Checked when the address is unknown, so that a wrong address takes as long as a
    # wrong password and the answer's timing does not tell which addresses have accounts.
    # Made on first use: hashing costs a good fraction of a second on purpose.
    return _hasher.hash("decoy password that never matches")


def check_new_password(password: str) -> str:
    """``password`` if it may be set; an :class:`InputError` saying why not otherwise."""
    if len(password) < MIN_LENGTH:
        raise InputError(f"the password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise InputError(f"the password must have at most {MAX_LENGTH} characters")
    if password != password.strip():
        raise InputError("the password must not start or end with white space")
    return password


def hash_password(password: str) -> str:
    """The Argon2id hash of ``password`` (PHC string format, salt included)."""
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored``; ``None`` (no such user) costs the same."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(stored or _decoy(), password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(stored)
