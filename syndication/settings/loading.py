"""Loading the settings: find the file, parse it, read every table into one Settings."""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from syndication.core.language_tags import LanguageTagError, language_tag
from syndication.errors import ConfigError
from syndication.settings.integrations import IntegrationTables
from syndication.settings.model import (
    CONFIG_ENV,
    DATABASE_URL_ENV,
    DEFAULT_CONFIG_PATH,
    DEMO_LISTS,
    DEMO_TOPICS,
    METRICS_TOKEN_ENV,
    READER_LANGUAGE,
    SLUG_RE,
    DatabaseSettings,
    FeedSettings,
    ImportSettings,
    LanguageSettings,
    MailingList,
    SchedulerSettings,
    Settings,
    SiteSettings,
    Topic,
    WebSettings,
)
from syndication.settings.privacy import PrivacyTable
from syndication.settings.signing_key import SETTING as SECRET_KEY_FILE_SETTING
from syndication.settings.signing_key import read_signing_key

# The shape SQLAlchemy's make_url accepts (sqlalchemy/engine/url.py), so that a URL it would
# refuse is refused here, naming the key, without loading SQLAlchemy.
_DATABASE_URL_RE = re.compile(
    r"""
    (?P<scheme>[\w+]+)://
    (?:(?P<username>[^:/]*)(?::(?P<password>[^@]*))?@)?
    (?:(?:\[(?P<ipv6host>[^/?]+)\]|(?P<ipv4host>[^/:?]+))?(?::(?P<port>[^/?]*))?)?
    (?:/(?P<database>[^?]*))?
    (?:\?(?P<query>.*))?
    """,
    re.VERBOSE,
)


def resolve_config_path(explicit: Path | None, environ: Mapping[str, str]) -> Path | None:
    """The file to read: ``--config``, else ``$SYNDICATION_CONFIG``, else ``./syndication.toml``.

    An explicitly named file must exist; the default one may be absent (defaults apply).
    """
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"{explicit}: configuration file not found (given by --config)")
        return explicit
    from_env = environ.get(CONFIG_ENV, "")
    if from_env:
        path = Path(from_env)
        if not path.is_file():
            raise ConfigError(f"{path}: configuration file not found (given by ${CONFIG_ENV})")
        return path
    return DEFAULT_CONFIG_PATH if DEFAULT_CONFIG_PATH.is_file() else None


def load_settings(path: Path | None, environ: Mapping[str, str]) -> Settings:
    """Read and validate ``path`` (or the defaults when ``None``) and the environment."""
    if path is None:
        data: dict[str, Any] = {}
        source = "built-in defaults"
    else:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
        data = _parse_toml(path, raw)
        source = str(path)
    settings = _Reader(source).settings(data, environ)
    key, key_file = read_signing_key(environ, data.get(SECRET_KEY_FILE_SETTING), path)
    return replace(settings, secret_key=key, secret_key_file=key_file)


def _parse_toml(path: Path, raw: bytes) -> dict[str, Any]:
    # TOML is UTF-8 without a byte-order mark (TOML 1.0 "Spec"); editors on Windows often
    # save UTF-16 or a BOM, which tomllib reports as a decoding error deep inside.
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError(f"{path}: saved as UTF-16; save it as UTF-8 (without a BOM)")
    if raw.startswith(b"\xef\xbb\xbf"):
        raise ConfigError(f"{path}: starts with a byte-order mark; save it as UTF-8 without BOM")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8 without BOM"
        ) from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


class _Reader(IntegrationTables, PrivacyTable):
    """The whole file: the site, store, feeds, web, topics, lists and scheduler tables."""

    def settings(self, data: dict[str, Any], environ: Mapping[str, str]) -> Settings:
        self.known(
            data,
            "",
            {"site", "database", "feeds", "import", "web", "topics", "lists", "mail", "scheduler"}
            | {"templates", "sources", "bounces", "languages", "privacy", SECRET_KEY_FILE_SETTING},
        )
        site = self.site(data)
        languages = self.languages(data, site.language, "language" in data.get("site", {}))
        site = replace(site, language=languages.primary)
        topics = self.topics(data)
        for index, topic in enumerate(topics):
            # Another language's feeds live under its tag (feeds/ko/culture/, issue 30).
            if topic.slug in {tag.lower() for tag in languages.available[1:]}:
                raise self.fail(
                    f"topics[{index}].slug",
                    f"{topic.slug!r} names a language of languages.available, whose feeds "
                    f"live in feeds/{topic.slug}/; give the topic another slug",
                )
        return Settings(
            site=site,
            database=self.database(data, environ),
            feeds=self.feeds(data),
            imports=self.imports(data, site.language),
            web=self.web(data),
            topics=topics,
            lists=self.lists(data, topics, site.tz, languages),
            mail=self.mail(data, environ),
            scheduler=self.scheduler(data),
            bounces=self.bounces(data, environ),
            privacy=self.privacy(data),
            metrics_token=environ.get(METRICS_TOKEN_ENV, ""),
            source=self.source,
            templates_dir=self.templates_dir(data),
            sources=self.sources(data, topics, environ),
            languages=languages,
        )

    def languages(
        self, data: Mapping[str, Any], site_language: str, site_language_given: bool
    ) -> LanguageSettings:
        """``[languages]``: ``available`` (the first is the primary, and is
        ``site.language``), ``fallback`` (tag -> tag) and ``names`` (tag -> name)."""
        if "languages" not in data:
            return LanguageSettings(available=(site_language,))
        table = self.table(data, "languages", {"available", "fallback", "names"})
        where = "languages"
        raw = self.get(table, where, "available", list, [site_language])
        if not raw or not all(isinstance(tag, str) for tag in raw):
            raise self.fail(f"{where}.available", "must be a non-empty array of language tags")
        available: list[str] = []
        for tag in raw:
            try:
                canonical = language_tag(tag.strip())
            except LanguageTagError as exc:
                raise self.fail(f"{where}.available", str(exc)) from None
            if canonical in available:
                raise self.fail(f"{where}.available", f"{canonical!r} is listed twice")
            available.append(canonical)
        if site_language_given and language_tag(site_language) != available[0]:
            raise self.fail(
                "site.language",
                f"{site_language!r} is not the first of languages.available "
                f"({available[0]!r}, the primary language); set one of them",
            )
        fallback = self.language_map(table, "fallback", available)
        for tag, target in fallback:
            if tag == target:
                raise self.fail(f"{where}.fallback.{tag}", "a language cannot fall back to itself")
        step = dict(fallback)
        for tag in step:
            seen = [tag]
            while seen[-1] in step:
                seen.append(step[seen[-1]])
                if seen[-1] in seen[:-1]:
                    raise self.fail(
                        f"{where}.fallback", "falls back in a circle: " + " -> ".join(seen)
                    )
        names = tuple(
            (tag, name.strip())
            for tag, name in self.string_map(table, "names", f"{where}.names").items()
            if self._known_tag(f"{where}.names.{tag}", tag, available)
        )
        return LanguageSettings(available=tuple(available), fallback=fallback, names=names)

    def language_map(
        self, table: Mapping[str, Any], key: str, available: list[str]
    ) -> tuple[tuple[str, str], ...]:
        where = f"languages.{key}"
        result = []
        for tag, target in self.string_map(table, key, where).items():
            self._known_tag(f"{where}.{tag}", tag, available)
            target = target.strip()
            try:
                target = language_tag(target)
            except LanguageTagError as exc:
                raise self.fail(f"{where}.{tag}", str(exc)) from None
            if target not in available:
                raise self.fail(f"{where}.{tag}", f"{target!r} is not in languages.available")
            result.append((language_tag(tag), target))
        return tuple(result)

    def string_map(self, table: Mapping[str, Any], key: str, where: str) -> dict[str, str]:
        value = table.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise self.fail(where, 'must be a table of strings, e.g. { ja = "en" }')
        return value

    def _known_tag(self, where: str, tag: str, available: list[str]) -> bool:
        try:
            canonical = language_tag(tag)
        except LanguageTagError as exc:
            raise self.fail(where, str(exc)) from None
        if canonical not in available:
            raise self.fail(where, f"{tag!r} is not in languages.available")
        return True

    def templates_dir(self, data: Mapping[str, Any]) -> Path | None:
        table = self.table(data, "templates", {"dir"})
        directory = self.get(table, "templates", "dir", str, "")
        if not directory:
            return None
        path = Path(directory)
        if not path.is_dir():
            raise self.fail("templates.dir", f"{directory!r} is not a folder")
        return path

    def site(self, data: Mapping[str, Any]) -> SiteSettings:
        d = SiteSettings()
        names = {"title", "base_url", "feeds_url", "language", "timezone", "author"}
        table = self.table(
            data, "site", names | {"description", "contact", "logo_url", "brand_color"}
        )
        timezone = self.get(table, "site", "timezone", str, d.timezone)
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise self.fail("site.timezone", f"unknown timezone {timezone!r}") from exc
        base_url = self.url("site.base_url", self.get(table, "site", "base_url", str, d.base_url))
        feeds_url = self.url(
            "site.feeds_url", self.get(table, "site", "feeds_url", str, d.feeds_url)
        )
        language = self.checked(
            "site.language",
            self.get(table, "site", "language", str, d.language),
            lambda v: bool(re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", v)),
            "must be a language tag such as 'en' or 'ko-KR'",
        )
        return SiteSettings(
            title=self.nonempty("site.title", self.get(table, "site", "title", str, d.title)),
            base_url=base_url.rstrip("/"),
            feeds_url=feeds_url.rstrip("/"),
            language=language,
            timezone=timezone,
            author=self.get(table, "site", "author", str, d.author),
            description=self.get(table, "site", "description", str, d.description),
            contact=self.get(table, "site", "contact", str, d.contact),
            logo_url=self.logo_url(self.get(table, "site", "logo_url", str, d.logo_url)),
            brand_color=self.brand_color(
                self.get(table, "site", "brand_color", str, d.brand_color)
            ),
        )

    def database(self, data: Mapping[str, Any], environ: Mapping[str, str]) -> DatabaseSettings:
        table = self.table(data, "database", {"url"})
        url = self.get(table, "database", "url", str, DatabaseSettings().url)
        key = "database.url"
        if environ.get(DATABASE_URL_ENV):
            url, key = environ[DATABASE_URL_ENV], f"${DATABASE_URL_ENV}"
        # The URL's scheme is judged here without SQLAlchemy: loading it costs ~0.25 s, and
        # the CLI's --help and the import's start-up (before its worker forks) must not wait
        # for it. The store parses the whole URL when it makes the engine.
        match = _DATABASE_URL_RE.match(url)
        if match is None:
            raise self.fail(key, f"not a database URL: {url!r}")
        if match["port"] and not match["port"].isdigit():
            raise self.fail(key, f"port {match['port']!r} is not a number")
        scheme = match["scheme"]
        if scheme.split("+", 1)[0] not in {"sqlite", "postgresql"}:
            raise self.fail(key, "only sqlite:/// and postgresql+psycopg:// URLs are supported")
        if scheme == "postgresql":
            url = "postgresql+psycopg" + url[len(scheme) :]
        return DatabaseSettings(url=url)

    def feeds(self, data: Mapping[str, Any]) -> FeedSettings:
        d = FeedSettings()
        table = self.table(data, "feeds", {"dir", "entries", "websub_hub"})
        entries = self.checked(
            "feeds.entries",
            self.get(table, "feeds", "entries", int, d.entries),
            lambda v: 1 <= v <= 1000,
            "must be between 1 and 1000",
        )
        hub = self.get(table, "feeds", "websub_hub", str, d.websub_hub)
        if hub:
            self.url("feeds.websub_hub", hub)
        directory = self.nonempty("feeds.dir", self.get(table, "feeds", "dir", str, str(d.dir)))
        return FeedSettings(dir=Path(directory), entries=entries, websub_hub=hub)

    def imports(self, data: Mapping[str, Any], language: str) -> ImportSettings:
        d = ImportSettings()
        names = ("max_title_chars", "max_summary_bytes", "max_body_bytes", "max_html_depth")
        table = self.table(data, "import", set(names))
        values = {
            name: self.checked(
                f"import.{name}",
                self.get(table, "import", name, int, getattr(d, name)),
                lambda v: v > 0,
                "must be a whole number above 0",
            )
            for name in names
        }
        return ImportSettings(**values, language=language)

    def web(self, data: Mapping[str, Any]) -> WebSettings:
        d = WebSettings()
        names = {
            "trusted_proxies",
            "header_timeout_seconds",
            "body_timeout_seconds",
            "max_connections",
        }
        table = self.table(data, "web", names)
        proxies = self.get(table, "web", "trusted_proxies", list, list(d.trusted_proxies))
        for proxy in proxies:
            try:
                if not isinstance(proxy, str):  # ip_network(1) would be 0.0.0.1
                    raise TypeError(proxy)
                ipaddress.ip_network(proxy, strict=False)
            except (TypeError, ValueError) as exc:
                raise self.fail(
                    "web.trusted_proxies", f"{proxy!r} is not an IP address or network"
                ) from exc
        seconds: dict[str, float] = {
            name: self.checked(
                f"web.{name}",
                self.get(table, "web", name, float, getattr(d, name)),
                lambda v: 0 < v <= 3600,
                "must be a number of seconds above 0 (at most 3600)",
            )
            for name in ("header_timeout_seconds", "body_timeout_seconds")
        }
        return WebSettings(
            trusted_proxies=tuple(proxies),
            max_connections=self.checked(
                "web.max_connections",
                self.get(table, "web", "max_connections", int, d.max_connections),
                lambda v: v > 0,
                "must be a whole number above 0",
            ),
            **seconds,
        )

    def topics(self, data: Mapping[str, Any]) -> tuple[Topic, ...]:
        if "topics" not in data:
            return DEMO_TOPICS
        items = data["topics"]
        if not isinstance(items, list) or not items:
            raise self.fail("topics", "must be a non-empty array of tables ([[topics]])")
        topics: list[Topic] = []
        for index, item in enumerate(items):
            where = f"topics[{index}]"
            if not isinstance(item, dict):
                raise self.fail(where, "must be a table")
            self.known(item, where, {"slug", "name", "description"})
            slug = self.slug(item, where)
            if any(t.slug == slug for t in topics):
                raise self.fail(f"{where}.slug", f"duplicate topic {slug!r}")
            if slug == "all":
                raise self.fail(f"{where}.slug", "'all' is reserved for the whole-site feed")
            name = self.nonempty(f"{where}.name", self.get(item, where, "name", str, ""))
            topics.append(Topic(slug, name, self.get(item, where, "description", str, "")))
        return tuple(topics)

    def lists(
        self,
        data: Mapping[str, Any],
        topics: tuple[Topic, ...],
        tz: ZoneInfo,
        languages: LanguageSettings,
    ) -> tuple[MailingList, ...]:
        known_topics = {t.slug for t in topics}
        if "lists" not in data:
            return tuple(ml for ml in DEMO_LISTS if all(slug in known_topics for slug in ml.topics))
        items = data["lists"]
        if not isinstance(items, list):
            raise self.fail("lists", "must be an array of tables ([[lists]])")
        result: list[MailingList] = []
        allowed = {
            "slug",
            "name",
            "topics",
            "schedule",
            "description",
            "template",
            "approval",
            "archive",
            "language",
            "translations",
            "count_clicks",
        }
        for index, item in enumerate(items):
            where = f"lists[{index}]"
            if not isinstance(item, dict):
                raise self.fail(where, "must be a table")
            self.known(item, where, allowed)
            slug = self.slug(item, where)
            if any(ml.slug == slug for ml in result):
                raise self.fail(f"{where}.slug", f"duplicate list {slug!r}")
            list_topics = self.get(item, where, "topics", list, [])
            if not list_topics or not all(isinstance(t, str) for t in list_topics):
                raise self.fail(f"{where}.topics", "must be a non-empty array of topic slugs")
            for topic in list_topics:
                if topic not in known_topics:
                    raise self.fail(f"{where}.topics", f"unknown topic {topic!r}")
            schedule = self.get(item, where, "schedule", str, "0 8 * * mon")
            self.cron(f"{where}.schedule", schedule, tz)
            template = self.get(item, where, "template", str, "digest")
            if not SLUG_RE.match(template):
                raise self.fail(f"{where}.template", "must be a template name such as 'digest'")
            result.append(
                MailingList(
                    slug=slug,
                    name=self.nonempty(f"{where}.name", self.get(item, where, "name", str, "")),
                    topics=tuple(list_topics),
                    schedule=schedule,
                    description=self.get(item, where, "description", str, ""),
                    template=template,
                    approval=self.choice(
                        f"{where}.approval",
                        self.get(item, where, "approval", str, "auto"),
                        {"auto", "manual"},
                    ),
                    archive=self.choice(
                        f"{where}.archive",
                        self.get(item, where, "archive", str, "public"),
                        {"public", "private"},
                    ),
                    language=self.list_language(
                        f"{where}.language",
                        self.get(item, where, "language", str, languages.primary),
                        languages,
                    ),
                    translations=self.choice(
                        f"{where}.translations",
                        self.get(item, where, "translations", str, "fallback"),
                        {"fallback", "only"},
                    ),
                    count_clicks=self.get(item, where, "count_clicks", bool, False),
                )
            )
        return tuple(result)

    def list_language(self, where: str, value: str, languages: LanguageSettings) -> str:
        """A list's ``language``: "reader", or one of the newsroom's languages."""
        if value == READER_LANGUAGE:
            return value
        try:
            tag = language_tag(value.strip())
        except LanguageTagError:
            tag = value
        if tag not in languages.available:
            choices = ", ".join((READER_LANGUAGE, *languages.available))
            raise self.fail(where, f"{value!r} is not one of {choices}")
        return tag

    def scheduler(self, data: Mapping[str, Any]) -> SchedulerSettings:
        d = SchedulerSettings()
        names = {"poll_seconds", "deliver_seconds", "sources_seconds", "max_digest_delay"}
        table = self.table(data, "scheduler", names)
        positive: Callable[[int], bool] = lambda v: v > 0  # noqa: E731
        delay = self.get(table, "scheduler", "max_digest_delay", str, "24h")
        return SchedulerSettings(
            poll_seconds=self.checked(
                "scheduler.poll_seconds",
                self.get(table, "scheduler", "poll_seconds", int, d.poll_seconds),
                positive,
                "must be a whole number of seconds above 0",
            ),
            deliver_seconds=self.checked(
                "scheduler.deliver_seconds",
                self.get(table, "scheduler", "deliver_seconds", int, d.deliver_seconds),
                positive,
                "must be a whole number of seconds above 0",
            ),
            sources_seconds=self.checked(
                "scheduler.sources_seconds",
                self.get(table, "scheduler", "sources_seconds", int, d.sources_seconds),
                positive,
                "must be a whole number of seconds above 0",
            ),
            max_digest_delay=self.duration("scheduler.max_digest_delay", delay),
        )
