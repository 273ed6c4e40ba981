"""The demo's signing key, made on first use; and new keys for ``syndication keys generate``.

Where a key comes from (and the length every command checks) is settled when the settings
are read (:mod:`syndication.settings.signing_key`). Only the demo, which runs without a
settings file, gets a key made for it, in ``./.secret_key`` beside its ``syndication.db``.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import replace

from syndication.errors import InputError
from syndication.settings import Settings
from syndication.settings.signing_key import missing_key_error

log = logging.getLogger(__name__)

# 48 random bytes: 64 URL-safe characters, twice the 32 bytes the settings require.
KEY_BYTES = 48


def new_key() -> str:
    """A new random signing key (``secrets.token_urlsafe``, 64 characters)."""
    return secrets.token_urlsafe(KEY_BYTES)


def with_secret_key(settings: Settings) -> tuple[Settings, str]:
    """Settings with a signing key, and a warning for the operator when one was made.

    With a key already read (environment or ``secret_key_file``) they are returned as they
    are. In the demo (no settings file) a new key is written to ``./.secret_key`` (mode
    0600). With a settings file that names no key, :class:`ConfigError` says how to set one.
    """
    if settings.secret_key:
        return settings, ""
    key_file = settings.secret_key_file
    if key_file is None:
        raise missing_key_error(settings.source)
    key = new_key()
    try:
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another demo command made it a moment ago: use that one.
        return replace(settings, secret_key=key_file.read_text(encoding="utf-8").strip()), ""
    except OSError as exc:
        raise InputError(f"{key_file}: cannot write the demo's key: {exc.strerror}") from exc
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    warning = (
        f"demo: made a signing key in {key_file} (used only without a settings file; "
        f"production sets $SYNDICATION_SECRET_KEY or secret_key_file)"
    )
    return replace(settings, secret_key=key), warning
