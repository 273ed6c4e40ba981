"""Where the signing key comes from, and the length every command checks before it runs.

The key signs subscription links, VERP return paths, CSRF cookies and Message-IDs, so a
weak key lets anyone forge an unsubscribe, and two keys on one service (two hosts, or two
units started in different folders) break each other's links. Hence one of:

1. ``$SYNDICATION_SECRET_KEY`` (production: an ``EnvironmentFile`` read by every unit);
2. ``secret_key_file`` in the settings file, a file holding the key on one line (a
   relative path is taken from the settings file's folder, so every unit reading the same
   settings reads the same key, whatever its working directory);
3. only when there is no settings file at all (the demo, ``make demo``): ``./.secret_key``,
   made on first use by :mod:`syndication.edges.secret_key`.

With a settings file and neither (1) nor (2) there is no key, and commands that sign say so
when they need one. A key shorter than :data:`MIN_KEY_BYTES` is refused at start by every
command, naming where it came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from syndication.errors import ConfigError
from syndication.settings.model import SECRET_KEY_ENV

# HMAC-SHA256 gains nothing from keys longer than its 32-byte output, and loses strength
# with shorter ones (RFC 2104 section 3: "less than L bytes is strongly discouraged").
MIN_KEY_BYTES = 32
DEMO_KEY_FILE = Path(".secret_key")
SETTING = "secret_key_file"
MAKE_ONE = "make one with 'syndication keys generate'"


def read_signing_key(
    environ: Mapping[str, str], setting: object, config: Path | None
) -> tuple[str, Path | None]:
    """The key and the file it is kept in (``None`` when it came from the environment).

    ``setting`` is the settings file's ``secret_key_file`` value (``None`` when absent) and
    ``config`` the settings file (``None``: built-in defaults, the demo). Returns ``("",
    None)`` when a settings file names no key; ``("", DEMO_KEY_FILE)`` in the demo before
    its key is made. Raises :class:`ConfigError` for a short key or an unreadable file.
    """
    if SECRET_KEY_ENV in environ:
        return _checked(environ[SECRET_KEY_ENV], f"${SECRET_KEY_ENV}"), None
    if setting is not None:
        where = f"{config}: {SETTING}"
        if not isinstance(setting, str) or not setting:
            raise ConfigError(f"{where}: must be the path of a file holding the key")
        path = Path(setting)
        if not path.is_absolute() and config is not None:
            path = config.parent / path
        key = _read(path, where)
        if key is None:
            raise ConfigError(
                f"{where}: {path} does not exist; {MAKE_ONE} > {path} (then chmod 600 it)"
            )
        return _checked(key, f"{path} ({SETTING} in {config})"), path
    if config is not None:
        return "", None
    key = _read(DEMO_KEY_FILE, "the demo's key")
    if key is None:
        return "", DEMO_KEY_FILE
    return _checked(key, f"{DEMO_KEY_FILE} (the demo's key: no settings file)"), DEMO_KEY_FILE


def missing_key_error(source: str) -> ConfigError:
    """What a command that signs says when the settings name no key."""
    return ConfigError(
        f"no signing key: set ${SECRET_KEY_ENV} or {SETTING} in {source} ({MAKE_ONE})"
    )


def _read(path: Path, where: str) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(f"{where}: {path}: cannot read the key: {reason}") from exc


def _checked(key: str, where: str) -> str:
    size = len(key.encode("utf-8"))
    if size < MIN_KEY_BYTES:
        raise ConfigError(
            f"{where}: the secret key is {size} bytes long; it must have at least "
            f"{MIN_KEY_BYTES}: {MAKE_ONE}"
        )
    return key
