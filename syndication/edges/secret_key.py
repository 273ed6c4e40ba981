"""The key that signs our links: from the environment, else a local key file."""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import replace
from pathlib import Path

from syndication.errors import InputError
from syndication.settings import Settings

log = logging.getLogger(__name__)


SECRET_KEY_FILE = Path(".secret_key")


def with_secret_key(settings: Settings, key_file: Path = SECRET_KEY_FILE) -> tuple[Settings, str]:
    """Settings with a signing key: ``$SYNDICATION_SECRET_KEY``, else a local key file.

    Without either, a new random key is written to ``key_file`` (mode 0600) so the demo
    works out of the box; the second value is a warning for the operator in that case.
    Links signed with one key stop working under another, so production sets the variable.
    """
    if settings.secret_key:
        return settings, ""
    try:
        key = key_file.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        key = ""
    except OSError as exc:
        raise InputError(f"{key_file}: cannot read the secret key: {exc.strerror}") from exc
    warning = ""
    if not key:
        key = secrets.token_urlsafe(32)
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(key + "\n")
        warning = f"generated a signing key in {key_file}; set SYNDICATION_SECRET_KEY in production"
    return replace(settings, secret_key=key), warning
