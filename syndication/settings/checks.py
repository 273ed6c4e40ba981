"""Reading one TOML table at a time: typed values, allowed keys, errors naming file and key."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from syndication.errors import ConfigError
from syndication.settings.model import (
    SLUG_RE,
    kind_name,
    relative_luminance,
)

T = TypeVar("T")


class TableReader:
    """Walks the parsed TOML, checking each key; errors name the file and the key."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, reason: str) -> ConfigError:
        return ConfigError(f"{self.source}: {key}: {reason}")

    def table(
        self, data: Mapping[str, Any], key: str, allowed: set[str], where: str = ""
    ) -> dict[str, Any]:
        """``data[key]`` as a table of ``allowed`` keys; ``where`` is its full dotted name
        when it is nested (``mail.smtp``), so that an error names the whole path."""
        where = where or key
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(where, "must be a table")
        self.known(value, where, allowed)
        return value

    def known(self, table: Mapping[str, Any], where: str, allowed: set[str]) -> None:
        for name in table:
            if name not in allowed:
                choices = ", ".join(sorted(allowed))
                raise self.fail(
                    f"{where}.{name}" if where else name, f"unknown key (known: {choices})"
                )

    def get(self, table: Mapping[str, Any], where: str, name: str, kind: type[T], default: T) -> T:
        if name not in table:
            return default
        value = table[name]
        ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            raise self.fail(f"{where}.{name}", f"must be {kind_name(kind)}, not {value!r}")
        return value  # type: ignore[no-any-return]

    def checked(self, key: str, value: T, check: Callable[[T], bool], reason: str) -> T:
        if not check(value):
            raise self.fail(key, reason)
        return value

    def nonempty(self, key: str, value: str) -> str:
        if not value.strip():
            raise self.fail(key, "must not be empty")
        return value

    def slug(self, item: Mapping[str, Any], where: str) -> str:
        slug = self.get(item, where, "slug", str, "")
        if not SLUG_RE.match(slug):
            raise self.fail(
                f"{where}.slug", f"{slug!r} is not a slug (lower-case letters, digits, hyphens)"
            )
        return slug

    def choice(self, key: str, value: str, choices: set[str]) -> str:
        if value not in choices:
            raise self.fail(key, f"{value!r} is not one of {', '.join(sorted(choices))}")
        return value

    def url(self, key: str, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise self.fail(key, f"{value!r} is not an absolute http(s) URL")
        return value

    def logo_url(self, value: str) -> str:
        """ "" or an absolute https URL: a mail client fetches it from anywhere, and an
        http image is blocked or flagged by clients that load the message over https."""
        if value and (urlsplit(value).scheme != "https" or not urlsplit(value).hostname):
            raise self.fail("site.logo_url", f"{value!r} is not an absolute https URL")
        return value

    def brand_color(self, value: str) -> str:
        """A ``#rrggbb`` colour with at least 4.5:1 contrast on white (WCAG 2 AA for text):
        it colours links and the topic headings' text in the digest."""
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
            raise self.fail("site.brand_color", f"{value!r} is not a colour such as '#0b5cad'")
        ratio = 1.05 / (relative_luminance(value) + 0.05)
        if ratio < 4.5:
            raise self.fail(
                "site.brand_color",
                f"{value!r} is too light to read on white ({ratio:.1f}:1, needs 4.5:1);"
                " choose a darker shade",
            )
        return value.lower()

    def cron(self, key: str, expression: str, tz: ZoneInfo) -> None:
        # APScheduler is the one that will fire it, so it is the one that judges it.
        from apscheduler.triggers.cron import CronTrigger

        try:
            trigger = CronTrigger.from_crontab(expression, timezone=tz)
        except ValueError as exc:
            raise self.fail(key, f"invalid cron expression {expression!r}: {exc}") from exc
        # A valid expression may still never fire ("0 8 31 2 *": 31 February); a digest
        # period runs from one firing to the next, so it must fire at least twice. The
        # start is a fixed date, not the clock: the answer must not depend on the day.
        first = trigger.get_next_fire_time(None, datetime(2000, 1, 1, tzinfo=tz))
        second = (
            None
            if first is None
            else trigger.get_next_fire_time(first, first + timedelta(seconds=1))
        )
        if first is None or second is None:
            raise self.fail(key, f"cron expression {expression!r} never fires (no such date)")

    def duration(self, key: str, value: str) -> timedelta:
        match = re.fullmatch(r"\s*(\d+)\s*([smhd])\s*", value)
        if not match:
            raise self.fail(key, f"{value!r} is not a duration such as '90m', '24h' or '2d'")
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
        return timedelta(**{unit: int(match.group(1))})
