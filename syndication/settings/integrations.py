"""The tables of what the service talks to: mail, the SMTP relay, sources, bounces, IMAP."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from syndication.settings.checks import TableReader
from syndication.settings.model import (
    SLUG_RE,
    SOURCE_KINDS,
    BounceSettings,
    DkimSettings,
    ImapSettings,
    MailSettings,
    SmtpSettings,
    SourceSettings,
    Topic,
    header_safe,
)

# Dot-separated DNS labels (letters, digits, hyphens; no leading or trailing hyphen).
DNS_NAME = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*")


class IntegrationTables(TableReader):
    """``[mail]``, ``[mail.smtp]``, ``[[sources]]``, ``[bounces]`` and ``[bounces.imap]``."""

    def mail(self, data: Mapping[str, Any], environ: Mapping[str, str]) -> MailSettings:
        d = MailSettings()
        table = self.table(data, "mail", {"from", "transport", "outbox_dir", "smtp", "dkim"})
        sender = self.nonempty("mail.from", self.get(table, "mail", "from", str, d.from_address))
        # The rule every message's From is built with (core/mime.py), so that a sender no
        # message could carry is refused here, naming the key, not at the first send.
        from email.utils import parseaddr

        if "\r" in sender or "\n" in sender or not header_safe(parseaddr(sender)[1].strip()):
            raise self.fail(
                "mail.from", "must be an address such as 'City News <news@example.org>'"
            )
        transport = self.choice(
            "mail.transport", self.get(table, "mail", "transport", str, "file"), {"file", "smtp"}
        )
        outbox = self.nonempty(
            "mail.outbox_dir", self.get(table, "mail", "outbox_dir", str, str(d.outbox_dir))
        )
        return MailSettings(
            from_address=sender,
            transport=transport,
            outbox_dir=Path(outbox),
            smtp=self.smtp(table, environ),
            dkim=self.dkim(table),
        )

    def dkim(self, mail: Mapping[str, Any]) -> DkimSettings | None:
        """``[mail.dkim]``, or None when the table is absent (the MTA may sign instead)."""
        if "dkim" not in mail:
            return None
        where = "mail.dkim"
        table = self.table(mail, "dkim", {"domain", "selector", "key_file"}, where)
        for key in ("domain", "selector", "key_file"):
            if key not in table:
                raise self.fail(f"{where}.{key}", "missing (domain, selector and key_file)")
        domain = self.get(table, where, "domain", str, "").strip().lower().rstrip(".")
        if not DNS_NAME.fullmatch(domain) or "." not in domain:
            raise self.fail(f"{where}.domain", f"{domain!r} is not a domain name")
        selector = self.get(table, where, "selector", str, "").strip().lower()
        if not DNS_NAME.fullmatch(selector):
            raise self.fail(
                f"{where}.selector", f"{selector!r} is not a DNS label such as 'news2026'"
            )
        key_file = self.nonempty(f"{where}.key_file", self.get(table, where, "key_file", str, ""))
        return DkimSettings(domain=domain, selector=selector, key_file=Path(key_file))

    def smtp(self, mail: Mapping[str, Any], environ: Mapping[str, str]) -> SmtpSettings:
        d = SmtpSettings()
        where = "mail.smtp"
        names = {"host", "port", "security", "username", "password_env", "connections"}
        table = self.table(mail, "smtp", names | {"rate_per_second", "timeout_seconds"}, where)
        port = self.checked(
            f"{where}.port",
            self.get(table, where, "port", int, d.port),
            lambda v: 0 < v < 65536,
            "must be a TCP port (1-65535)",
        )
        connections = self.checked(
            f"{where}.connections",
            self.get(table, where, "connections", int, d.connections),
            lambda v: 1 <= v <= 64,
            "must be between 1 and 64",
        )
        rate = self.checked(
            f"{where}.rate_per_second",
            self.get(table, where, "rate_per_second", float, d.rate_per_second),
            lambda v: v > 0,
            "must be greater than 0",
        )
        timeout = self.checked(
            f"{where}.timeout_seconds",
            self.get(table, where, "timeout_seconds", float, d.timeout_seconds),
            lambda v: v > 0,
            "must be greater than 0",
        )
        password_env = self.get(table, where, "password_env", str, d.password_env)
        return SmtpSettings(
            host=self.nonempty(f"{where}.host", self.get(table, where, "host", str, d.host)),
            port=port,
            security=self.choice(
                f"{where}.security",
                self.get(table, where, "security", str, d.security),
                {"none", "starttls", "tls"},
            ),
            username=self.get(table, where, "username", str, d.username),
            password_env=password_env,
            password=environ.get(password_env, "") if password_env else "",
            connections=connections,
            rate_per_second=rate,
            timeout_seconds=timeout,
        )

    def sources(
        self, data: Mapping[str, Any], topics: tuple[Topic, ...], environ: Mapping[str, str]
    ) -> tuple[SourceSettings, ...]:
        items = data.get("sources", [])
        if not isinstance(items, list):
            raise self.fail("sources", "must be an array of tables ([[sources]])")
        known_topics = {t.slug for t in topics}
        allowed = {"name", "kind", "url", "categories", "default_topics", "timeout_seconds"}
        allowed |= {"username_env", "password_env", "max_poll_seconds", "max_pages", "dedupe"}
        allowed |= {"follow_redirects"}
        result: list[SourceSettings] = []
        for index, item in enumerate(items):
            where = f"sources[{index}]"
            if not isinstance(item, dict):
                raise self.fail(where, "must be a table")
            self.known(item, where, allowed)
            name = self.get(item, where, "name", str, "")
            if not SLUG_RE.match(name):
                raise self.fail(
                    f"{where}.name", f"{name!r} is not a slug (lower-case letters, digits, hyphens)"
                )
            if any(s.name == name for s in result):
                raise self.fail(f"{where}.name", f"duplicate source {name!r}")
            kind = self.choice(
                f"{where}.kind", self.get(item, where, "kind", str, ""), set(SOURCE_KINDS)
            )
            url = self.nonempty(f"{where}.url", self.get(item, where, "url", str, ""))
            if kind != "jsonl" or "://" in url:
                self.url(f"{where}.url", url)
            categories = self.get(item, where, "categories", dict, {})
            for upstream, topic in categories.items():
                if not isinstance(topic, str) or topic not in known_topics:
                    raise self.fail(f"{where}.categories.{upstream}", f"unknown topic {topic!r}")
            default_topics = self.get(item, where, "default_topics", list, [])
            for topic in default_topics:
                if not isinstance(topic, str) or topic not in known_topics:
                    raise self.fail(f"{where}.default_topics", f"unknown topic {topic!r}")
            timeout = self.checked(
                f"{where}.timeout_seconds",
                self.get(item, where, "timeout_seconds", float, 30.0),
                lambda v: 0 < v <= 3600,
                "must be a number of seconds above 0 (at most 3600)",
            )
            max_poll = self.get(item, where, "max_poll_seconds", float, 600.0)
            if not timeout <= max_poll <= 86400:
                raise self.fail(
                    f"{where}.max_poll_seconds",
                    "must be a number of seconds, at least timeout_seconds (at most 86400)",
                )
            max_pages = self.checked(
                f"{where}.max_pages",
                self.get(item, where, "max_pages", int, 1000),
                lambda v: 1 <= v <= 1_000_000,
                "must be a number of pages from 1 to 1000000",
            )
            dedupe = self.get(item, where, "dedupe", bool, kind == "feed")  # see deduplicates
            follow_redirects = self.choice(
                f"{where}.follow_redirects",
                self.get(item, where, "follow_redirects", str, "same-host"),
                {"same-host", "any"},
            )
            username_env = self.get(item, where, "username_env", str, "")
            password_env = self.get(item, where, "password_env", str, "")
            result.append(
                SourceSettings(
                    name=name,
                    kind=kind,
                    url=url.rstrip("/") if kind == "wordpress" else url,
                    categories=tuple(sorted(categories.items())),
                    default_topics=tuple(dict.fromkeys(default_topics)),
                    timeout_seconds=timeout,
                    max_poll_seconds=max_poll,
                    max_pages=max_pages,
                    dedupe=dedupe,
                    follow_redirects=follow_redirects,
                    username_env=username_env,
                    password_env=password_env,
                    username=environ.get(username_env, "") if username_env else "",
                    password=environ.get(password_env, "") if password_env else "",
                )
            )
        return tuple(result)

    def bounces(self, data: Mapping[str, Any], environ: Mapping[str, str]) -> BounceSettings:
        d = BounceSettings()
        table = self.table(
            data,
            "bounces",
            {
                "address",
                "soft_limit",
                "max_message_bytes",
                "imap",
                "capability_days",
                "retention_days",
                "strangers_per_hour",
                "strangers_stored",
            },
        )
        address = self.get(table, "bounces", "address", str, d.address).strip()
        if address and not re.fullmatch(
            r"[A-Za-z0-9._-]{1,31}@[A-Za-z0-9.-]+\.[A-Za-z]{2,63}", address
        ):
            raise self.fail(
                "bounces.address",
                f"{address!r} is not a plain address such as 'bounces@news.example.org'"
                " (at most 31 characters before the @, no '+': the VERP token goes there)",
            )
        soft_limit = self.checked(
            "bounces.soft_limit",
            self.get(table, "bounces", "soft_limit", int, d.soft_limit),
            lambda v: 1 <= v <= 100,
            "must be between 1 and 100",
        )
        size = self.checked(
            "bounces.max_message_bytes",
            self.get(table, "bounces", "max_message_bytes", int, d.max_message_bytes),
            lambda v: 10_000 <= v <= 100_000_000,
            "must be between 10000 and 100000000",
        )
        days = {
            key: self.checked(
                f"bounces.{key}",
                self.get(table, "bounces", key, int, getattr(d, key)),
                lambda v: 1 <= v <= 3650,
                "must be between 1 and 3650 days",
            )
            for key in ("capability_days", "retention_days")
        }
        strangers = {
            key: self.checked(
                f"bounces.{key}",
                self.get(table, "bounces", key, int, getattr(d, key)),
                lambda v: 1 <= v <= 1_000_000,
                "must be between 1 and 1000000",
            )
            for key in ("strangers_per_hour", "strangers_stored")
        }
        imap = self.imap(table, environ) if "imap" in table else None
        return BounceSettings(
            address=address.lower(),
            soft_limit=soft_limit,
            max_message_bytes=size,
            imap=imap,
            capability_days=days["capability_days"],
            retention_days=days["retention_days"],
            strangers_per_hour=strangers["strangers_per_hour"],
            strangers_stored=strangers["strangers_stored"],
        )

    def imap(self, bounces: Mapping[str, Any], environ: Mapping[str, str]) -> ImapSettings:
        where = "bounces.imap"
        names = {"host", "port", "security", "username", "password_env", "folder"}
        more = {"processed_folder", "timeout_seconds", "ca_file"}
        table = self.table(bounces, "imap", names | more, "bounces.imap")
        host = self.nonempty(f"{where}.host", self.get(table, where, "host", str, ""))
        security = self.choice(
            f"{where}.security",
            self.get(table, where, "security", str, "tls"),
            {"tls", "starttls", "none"},
        )
        d = ImapSettings(host)
        port = self.checked(
            f"{where}.port",
            self.get(table, where, "port", int, 993 if security == "tls" else 143),
            lambda v: 0 < v < 65536,
            "must be a TCP port (1-65535)",
        )
        password_env = self.get(table, where, "password_env", str, d.password_env)
        folder = self.nonempty(f"{where}.folder", self.get(table, where, "folder", str, d.folder))
        processed = self.nonempty(
            f"{where}.processed_folder",
            self.get(table, where, "processed_folder", str, d.processed_folder),
        )
        if processed == folder:
            raise self.fail(f"{where}.processed_folder", "must differ from bounces.imap.folder")
        return ImapSettings(
            host=host,
            port=port,
            security=security,
            username=self.nonempty(
                f"{where}.username", self.get(table, where, "username", str, "")
            ),
            password_env=password_env,
            password=environ.get(password_env, "") if password_env else "",
            folder=folder,
            processed_folder=processed,
            timeout_seconds=self.checked(
                f"{where}.timeout_seconds",
                self.get(table, where, "timeout_seconds", float, d.timeout_seconds),
                lambda v: v > 0,
                "must be greater than 0",
            ),
            ca_file=self.get(table, where, "ca_file", str, ""),
        )

    # -- value checks ------------------------------------------------------------------
