"""The ``[privacy]`` table: retention of unread records and the sign-up form's notice."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syndication.settings.checks import TableReader
from syndication.settings.model import PrivacySettings

NOTICE_TEXT_LIMIT = 2000


class PrivacyTable(TableReader):
    """``[privacy]``: ``pending_days``, ``unsubscribed_days``, ``transactional_mail_days``,
    ``notice_url``, ``notice_text``."""

    def privacy(self, data: Mapping[str, Any]) -> PrivacySettings:
        d = PrivacySettings()
        day_keys = ("pending_days", "unsubscribed_days", "transactional_mail_days")
        names = {*day_keys, "notice_url", "notice_text"}
        table = self.table(data, "privacy", names)
        days = {
            key: self.checked(
                f"privacy.{key}",
                self.get(table, "privacy", key, int, getattr(d, key)),
                lambda v: 1 <= v <= 3650,
                "must be a whole number of days between 1 and 3650",
            )
            for key in day_keys
        }
        if days["pending_days"] < 7:
            # The confirmation link lives 7 days (core/tokens.CONFIRM_MAX_AGE): a shorter
            # retention would delete requests whose mail still works.
            raise self.fail(
                "privacy.pending_days",
                "must be at least 7 (a confirmation link works for 7 days)",
            )
        url = self.get(table, "privacy", "notice_url", str, d.notice_url).strip()
        if url:
            self.url("privacy.notice_url", url)
        text = self.get(table, "privacy", "notice_text", str, d.notice_text).strip()
        if len(text) > NOTICE_TEXT_LIMIT:
            raise self.fail(
                "privacy.notice_text",
                f"{len(text)} characters; keep it under {NOTICE_TEXT_LIMIT} and link the "
                "full notice with notice_url",
            )
        if any(not ch.isprintable() and ch != "\n" for ch in text):
            raise self.fail(
                "privacy.notice_text", "holds a control character (only line breaks are allowed)"
            )
        return PrivacySettings(
            pending_days=days["pending_days"],
            unsubscribed_days=days["unsubscribed_days"],
            notice_url=url,
            notice_text=text,
            transactional_mail_days=days["transactional_mail_days"],
        )
