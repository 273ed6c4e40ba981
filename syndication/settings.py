"""Settings: ``syndication.toml`` plus a few environment variables, read once, frozen.

The file is optional: every key has a default, and the defaults describe the demo newsroom
(a city government's English news office), so ``make demo`` runs with no file at all. A key
the service does not know, a value of the wrong type, an unknown timezone, a cron expression
that does not parse or a URL that is not absolute http(s) is a :class:`ConfigError` naming
the file and the key, raised before anything runs.

Secrets never live in the file: the SMTP password comes from the environment variable the
file names (``mail.smtp.password_env``), the signing key from ``SYNDICATION_SECRET_KEY``.
Nothing else in the package reads ``os.environ``; the CLI passes the environment in.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from syndication.errors import ConfigError, NotFoundError

DEFAULT_CONFIG_PATH = Path("syndication.toml")
CONFIG_ENV = "SYNDICATION_CONFIG"
DATABASE_URL_ENV = "SYNDICATION_DATABASE_URL"
SECRET_KEY_ENV = "SYNDICATION_SECRET_KEY"
METRICS_TOKEN_ENV = "SYNDICATION_METRICS_TOKEN"

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Topic:
    """A subject the newsroom files articles under; each topic gets its own feeds."""

    slug: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class MailingList:
    """A digest list: the topics it carries and when its digest goes out (cron, site time)."""

    slug: str
    name: str
    topics: tuple[str, ...]
    schedule: str = "0 8 * * mon"
    description: str = ""
    template: str = "digest"
    # "manual": a compiled digest waits, held, until an operator approves it (issue 12).
    approval: str = "auto"


@dataclass(frozen=True)
class SiteSettings:
    title: str = "Seoul Metropolitan Government News"
    base_url: str = "https://news.example.org"
    feeds_url: str = "https://news.example.org/feeds"
    language: str = "en"
    timezone: str = "Asia/Seoul"
    author: str = "Seoul Metropolitan Government"
    description: str = "News from the city government's English-language news office."
    contact: str = "Seoul Metropolitan Government, 110 Sejong-daero, Jung-gu, Seoul 04524"
    # The digest masthead: a logo image (absolute https URL, or none) and the colour of
    # headings' rules, links and buttons (#rrggbb, legible on white: WCAG 2 AA, 4.5:1).
    logo_url: str = ""
    brand_color: str = "#0b5cad"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def domain(self) -> str:
        """The site's host name: the authority of tag URIs, Message-IDs and List-Ids."""
        return urlsplit(self.base_url).hostname or "localhost"


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite:///syndication.db"


@dataclass(frozen=True)
class FeedSettings:
    dir: Path = Path("feeds")
    entries: int = 50
    websub_hub: str = ""


@dataclass(frozen=True)
class WebSettings:
    """``serve``: whom to believe about the client's address, and how long and how many
    connections a client may hold.

    ``trusted_proxies`` lists the addresses or networks (CIDR) of reverse proxies whose
    ``X-Forwarded-For`` names the client; empty (the default) believes no one, since any
    local process could otherwise pick its own address past the sign-up limit.
    """

    trusted_proxies: tuple[str, ...] = ()
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 30.0
    max_connections: int = 500


@dataclass(frozen=True)
class ImportSettings:
    """Limits on what one article may hold, enforced wherever articles enter (issue 15).

    One 50 MB article made 400 MB of feeds; 50,000 nested elements made a build take
    minutes (sanitising is quadratic in depth). An article over a limit is a rejection with
    the field and the reason, never a truncation nobody notices.
    """

    max_title_chars: int = 1_000
    max_summary_bytes: int = 10 * 1024
    max_body_bytes: int = 2 * 1024 * 1024
    max_html_depth: int = 100


DEFAULT_IMPORT_LIMITS = ImportSettings()


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "127.0.0.1"
    port: int = 25
    security: str = "none"
    username: str = ""
    password_env: str = "SYNDICATION_SMTP_PASSWORD"
    password: str = field(default="", repr=False)
    connections: int = 4
    rate_per_second: float = 50.0
    timeout_seconds: float = 30.0


@dataclass(frozen=True)
class MailSettings:
    from_address: str = "City News <news@example.org>"
    transport: str = "file"
    outbox_dir: Path = Path("outbox")
    smtp: SmtpSettings = field(default_factory=SmtpSettings)


SOURCE_KINDS = ("wordpress", "feed", "jsonl")


@dataclass(frozen=True)
class SourceSettings:
    """One upstream the ``sources`` job polls (issue 11); ``name`` prefixes its article ids.

    ``url`` is the site root (wordpress), the feed URL (feed), or an http(s) URL or a
    local path (jsonl). ``categories`` maps upstream category slugs (or feed category
    terms) to topics; items mapping to none get ``default_topics`` or are rejected.
    Credentials come from the environment variables the file names, never the file.
    """

    name: str
    kind: str
    url: str
    categories: tuple[tuple[str, str], ...] = ()
    default_topics: tuple[str, ...] = ()
    timeout_seconds: float = 30.0
    username_env: str = ""
    password_env: str = ""
    username: str = field(default="", repr=False)
    password: str = field(default="", repr=False)

    @property
    def category_map(self) -> dict[str, str]:
        return dict(self.categories)


@dataclass(frozen=True)
class ImapSettings:
    """A mailbox that bounces land in (``[bounces.imap]``); ``bounces fetch`` reads it."""

    host: str
    port: int = 993
    security: str = "tls"
    username: str = ""
    password_env: str = "SYNDICATION_IMAP_PASSWORD"
    password: str = field(default="", repr=False)
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    timeout_seconds: float = 30.0
    ca_file: str = ""  # a private CA's certificates (PEM); empty: the system's


@dataclass(frozen=True)
class BounceSettings:
    """``[bounces]``: the VERP base address (unset: plain envelope sender, no intake)."""

    address: str = ""
    soft_limit: int = 3
    max_message_bytes: int = 10_000_000
    imap: ImapSettings | None = None


@dataclass(frozen=True)
class SchedulerSettings:
    poll_seconds: int = 60
    deliver_seconds: int = 60
    sources_seconds: int = 300
    max_digest_delay: timedelta = timedelta(hours=24)


DEMO_TOPICS: tuple[Topic, ...] = (
    Topic("international-relations", "International Relations", "Seoul and the world."),
    Topic("environment", "Environment", "Air, water, parks and climate."),
    Topic("transport", "Transport", "Subway, buses, roads and cycling."),
    Topic("culture", "Culture", "Festivals, museums and the arts."),
    Topic("welfare", "Welfare", "Care, housing and support for residents."),
    Topic("economy", "Economy", "Jobs, start-ups and business."),
    Topic("safety", "Safety", "Disaster preparedness and public safety."),
)

DEMO_LISTS: tuple[MailingList, ...] = (
    MailingList(
        "weekly-international",
        "International Relations Weekly",
        ("international-relations",),
        description="The week's news on Seoul's partnerships with cities abroad.",
    ),
    MailingList(
        "weekly-city",
        "City Life Weekly",
        ("environment", "transport", "culture", "welfare", "economy", "safety"),
        description="Everything the city did this week, in one e-mail.",
    ),
)


@dataclass(frozen=True)
class Settings:
    """Everything the service is configured with; build it directly in tests."""

    site: SiteSettings = field(default_factory=SiteSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    feeds: FeedSettings = field(default_factory=FeedSettings)
    imports: ImportSettings = field(default_factory=ImportSettings)
    web: WebSettings = field(default_factory=WebSettings)
    topics: tuple[Topic, ...] = DEMO_TOPICS
    lists: tuple[MailingList, ...] = DEMO_LISTS
    mail: MailSettings = field(default_factory=MailSettings)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    bounces: BounceSettings = field(default_factory=BounceSettings)
    secret_key: str = field(default="", repr=False)
    # Lets /metrics be scraped from off the machine (Authorization: Bearer …).
    metrics_token: str = field(default="", repr=False)
    source: str = "built-in defaults"
    # A folder whose files override the packaged templates by name ([templates] dir).
    templates_dir: Path | None = None
    sources: tuple[SourceSettings, ...] = ()

    def topic(self, slug: str) -> Topic:
        for topic in self.topics:
            if topic.slug == slug:
                return topic
        raise KeyError(slug)

    def mailing_list(self, slug: str) -> MailingList:
        """The configured list ``slug``; the one lookup every caller uses.

        Raises :class:`NotFoundError` naming the known lists.
        """
        for mailing_list in self.lists:
            if mailing_list.slug == slug:
                return mailing_list
        known = ", ".join(ml.slug for ml in self.lists) or "none"
        raise NotFoundError(f"list {slug!r}: not in the settings (known: {known})")


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
    return _Reader(source).settings(data, environ)


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


T = TypeVar("T")


class _Reader:
    """Walks the parsed TOML, checking each key; errors name the file and the key."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, reason: str) -> ConfigError:
        return ConfigError(f"{self.source}: {key}: {reason}")

    def table(self, data: Mapping[str, Any], key: str, allowed: set[str]) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table")
        self.known(value, key, allowed)
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
            raise self.fail(f"{where}.{name}", f"must be {_kind_name(kind)}, not {value!r}")
        return value  # type: ignore[no-any-return]

    def checked(self, key: str, value: T, check: Callable[[T], bool], reason: str) -> T:
        if not check(value):
            raise self.fail(key, reason)
        return value

    def settings(self, data: dict[str, Any], environ: Mapping[str, str]) -> Settings:
        self.known(
            data,
            "",
            {"site", "database", "feeds", "import", "web", "topics", "lists", "mail", "scheduler"}
            | {"templates", "sources", "bounces"},
        )
        site = self.site(data)
        topics = self.topics(data)
        return Settings(
            site=site,
            database=self.database(data, environ),
            feeds=self.feeds(data),
            imports=self.imports(data),
            web=self.web(data),
            topics=topics,
            lists=self.lists(data, topics, site.tz),
            mail=self.mail(data, environ),
            scheduler=self.scheduler(data),
            bounces=self.bounces(data, environ),
            secret_key=environ.get(SECRET_KEY_ENV, ""),
            metrics_token=environ.get(METRICS_TOKEN_ENV, ""),
            source=self.source,
            templates_dir=self.templates_dir(data),
            sources=self.sources(data, topics, environ),
        )

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
        # SQLAlchemy is imported here, not at the top: the CLI's --help must not load it.
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise self.fail(key, f"not a database URL: {url!r}") from exc
        if parsed.get_backend_name() not in {"sqlite", "postgresql"}:
            raise self.fail(key, "only sqlite:/// and postgresql+psycopg:// URLs are supported")
        if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
            url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
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

    def imports(self, data: Mapping[str, Any]) -> ImportSettings:
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
        return ImportSettings(**values)

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
        self, data: Mapping[str, Any], topics: tuple[Topic, ...], tz: ZoneInfo
    ) -> tuple[MailingList, ...]:
        known_topics = {t.slug for t in topics}
        if "lists" not in data:
            return tuple(ml for ml in DEMO_LISTS if all(slug in known_topics for slug in ml.topics))
        items = data["lists"]
        if not isinstance(items, list):
            raise self.fail("lists", "must be an array of tables ([[lists]])")
        result: list[MailingList] = []
        allowed = {"slug", "name", "topics", "schedule", "description", "template", "approval"}
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
                )
            )
        return tuple(result)

    def mail(self, data: Mapping[str, Any], environ: Mapping[str, str]) -> MailSettings:
        d = MailSettings()
        table = self.table(data, "mail", {"from", "transport", "outbox_dir", "smtp"})
        sender = self.nonempty("mail.from", self.get(table, "mail", "from", str, d.from_address))
        if "\r" in sender or "\n" in sender or "@" not in sender:
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
        )

    def smtp(self, mail: Mapping[str, Any], environ: Mapping[str, str]) -> SmtpSettings:
        d = SmtpSettings()
        where = "mail.smtp"
        names = {"host", "port", "security", "username", "password_env", "connections"}
        table = self.table(mail, "smtp", names | {"rate_per_second", "timeout_seconds"})
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

    def sources(
        self, data: Mapping[str, Any], topics: tuple[Topic, ...], environ: Mapping[str, str]
    ) -> tuple[SourceSettings, ...]:
        items = data.get("sources", [])
        if not isinstance(items, list):
            raise self.fail("sources", "must be an array of tables ([[sources]])")
        known_topics = {t.slug for t in topics}
        allowed = {"name", "kind", "url", "categories", "default_topics", "timeout_seconds"}
        allowed |= {"username_env", "password_env"}
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
                    username_env=username_env,
                    password_env=password_env,
                    username=environ.get(username_env, "") if username_env else "",
                    password=environ.get(password_env, "") if password_env else "",
                )
            )
        return tuple(result)

    def bounces(self, data: Mapping[str, Any], environ: Mapping[str, str]) -> BounceSettings:
        d = BounceSettings()
        table = self.table(data, "bounces", {"address", "soft_limit", "max_message_bytes", "imap"})
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
        imap = self.imap(table, environ) if "imap" in table else None
        return BounceSettings(
            address=address.lower(), soft_limit=soft_limit, max_message_bytes=size, imap=imap
        )

    def imap(self, bounces: Mapping[str, Any], environ: Mapping[str, str]) -> ImapSettings:
        where = "bounces.imap"
        names = {"host", "port", "security", "username", "password_env", "folder"}
        more = {"processed_folder", "timeout_seconds", "ca_file"}
        table = self.table(bounces, "imap", names | more)
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


def relative_luminance(color: str) -> float:
    """WCAG 2 relative luminance of a ``#rrggbb`` colour (0 black … 1 white)."""

    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(color[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _kind_name(kind: type) -> str:
    return {
        str: "a string",
        int: "an integer",
        float: "a number",
        list: "an array",
        bool: "true or false",
        dict: "a table",
    }.get(kind, kind.__name__)
