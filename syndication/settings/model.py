"""What the service is configured with: frozen dataclasses, their defaults, the demo newsroom."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from syndication.errors import NotFoundError

DEFAULT_CONFIG_PATH = Path("syndication.toml")
CONFIG_ENV = "SYNDICATION_CONFIG"
DATABASE_URL_ENV = "SYNDICATION_DATABASE_URL"
SECRET_KEY_ENV = "SYNDICATION_SECRET_KEY"
METRICS_TOKEN_ENV = "SYNDICATION_METRICS_TOKEN"

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

# An address we write in a header or an envelope: no white space, a single "@", no angle
# brackets and no CR/LF that could start a header of its own. Its home is here, below the
# core, so that [mail] from is judged at start by the rule every message is built with
# (syndication.core.addresses, the address policy, re-exports it).
_HEADER_SAFE = re.compile(r"[^\s@<>()\[\],;:\"\\]+@[A-Za-z0-9.-]+\.[A-Za-z0-9-]+")


def header_safe(address: str) -> bool:
    """Whether ``address`` can stand in a header as it is (checked per recipient)."""
    return address.isascii() and _HEADER_SAFE.fullmatch(address) is not None


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
    # "public": the list's digests that went out are on the web archive (/digests/);
    # "private": they never are, even by their address (issue 28).
    archive: str = "public"
    # The digest's language: a tag of [languages] available (every reader gets that
    # language), or "reader" (each reader's own, issue 30). "" is the primary language.
    language: str = ""
    # A story with no version in the digest's language: "fallback" shows the best other
    # version along the language's chain, marked as such; "only" leaves it out (issue 30).
    translations: str = "fallback"
    # Article links go through /r/<token> and clicks are counted, as sums (issue 31).
    count_clicks: bool = False


READER_LANGUAGE = "reader"

# What a language is called in its own words, for the sign-up form's choice; a tag not
# here is shown by its [languages] names entry, else by the tag itself.
ENDONYMS: dict[str, str] = {
    "en": "English",
    "ko": "한국어",
    "ja": "日本語",
    "zh-Hans": "简体中文",
    "zh-Hant": "繁體中文",
    "fr": "Français",
    "es": "Español",
    "de": "Deutsch",
    "ru": "Русский",
    "vi": "Tiếng Việt",
    "mn": "Монгол",
    "th": "ไทย",
    "id": "Bahasa Indonesia",
    "ar": "العربية",
}


@dataclass(frozen=True)
class LanguageSettings:
    """``[languages]``: the newsroom's languages (the first is the primary) and, per
    language, the one to try when a story has no translation in it (issue 30)."""

    available: tuple[str, ...] = ("en",)
    fallback: tuple[tuple[str, str], ...] = ()
    names: tuple[tuple[str, str], ...] = ()

    @property
    def primary(self) -> str:
        return self.available[0]

    def chain(self, tag: str) -> tuple[str, ...]:
        """``tag``, its fallback, that one's, ..., then the primary language, each once:
        the order in which a reader of ``tag`` is given a story's translations."""
        step = dict(self.fallback)
        chain = [tag]
        while chain[-1] in step and step[chain[-1]] not in chain:
            chain.append(step[chain[-1]])
        if self.primary not in chain:
            chain.append(self.primary)
        return tuple(chain)

    def name(self, tag: str) -> str:
        """What ``tag`` is called on forms: the configured name, its endonym, or the tag."""
        return dict(self.names).get(tag) or ENDONYMS.get(tag, tag)


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

    @property
    def is_postgresql(self) -> bool:
        """Whether the store is PostgreSQL (the loader normalised the URL's scheme)."""
        return self.url.startswith("postgresql")


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
    ``X-Forwarded-For`` names the client and whose ``X-Forwarded-Proto`` says whether it
    came over https; empty (the default) believes no one, since any local process could
    otherwise pick its own address past the sign-up limit. Once it lists any proxy,
    ``/metrics`` wants its token from loopback too.
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
    # The language of an article that names none: the site's (the loader sets it from
    # [site] language). Stored with the article, so its content hash, and the store, do
    # not depend on a setting read at publication (issue 26 item 6).
    language: str = "en"


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
class DkimSettings:
    """``[mail.dkim]``: sign every message as ``domain`` with the key published at
    ``<selector>._domainkey.<domain>`` (the private key, PEM, in ``key_file``)."""

    domain: str
    selector: str
    key_file: Path


@dataclass(frozen=True)
class MailSettings:
    from_address: str = "City News <news@example.org>"
    transport: str = "file"
    outbox_dir: Path = Path("outbox")
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    dkim: DkimSettings | None = None


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
    # A poll's whole time and how many pages (requests for one listing) it may read; the
    # next poll goes on from where the cursor stopped (issue 27 item 3).
    max_poll_seconds: float = 600.0
    max_pages: int = 1000
    # An item already stored from another source (same link, or guid that is that URL)
    # becomes an alias of that article, not a second one (issue 27 item 6). ``None``: the
    # default, true for feed sources, false for the others (see ``deduplicates``).
    dedupe: bool | None = None
    # "same-host": a redirect to another host fails the poll; "any": followed (issue 27).
    follow_redirects: str = "same-host"
    username: str = field(default="", repr=False)
    password: str = field(default="", repr=False)

    @property
    def category_map(self) -> dict[str, str]:
        return dict(self.categories)

    @property
    def deduplicates(self) -> bool:
        """``dedupe`` as set, else true for ``feed`` sources only."""
        return self.kind == "feed" if self.dedupe is None else self.dedupe


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
    """``[bounces]``: the VERP base address (unset: plain envelope sender, no intake).

    ``capability_days``: a report about a copy sent longer ago than this acts on nobody
    (a VERP return path or Message-ID is a capability over one reader; a forwarded copy
    must not suppress them years later). ``retention_days``: raw reports older than this
    are pruned (events and their verdicts are kept). ``strangers_per_hour`` and
    ``strangers_stored``: the SMTP/LMTP intake keeps at most that many reports that match
    no VERP token or Message-ID of ours per sending peer per hour, and at most that many
    in all, and ``bounces fetch`` keeps at most ``strangers_stored`` in all from the
    mailbox (``core/intake_limits.py``); the rest are counted and dropped.
    """

    address: str = ""
    soft_limit: int = 3
    max_message_bytes: int = 10_000_000
    imap: ImapSettings | None = None
    capability_days: int = 90
    retention_days: int = 30
    strangers_per_hour: int = 20
    strangers_stored: int = 1000


@dataclass(frozen=True)
class SchedulerSettings:
    poll_seconds: int = 60
    deliver_seconds: int = 60
    sources_seconds: int = 300
    max_digest_delay: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class PrivacySettings:
    """``[privacy]`` (issue 29 item 8): how long records nobody reads are kept, and the
    privacy notice the sign-up form shows.

    ``pending_days``: a sign-up never confirmed is deleted this long after its last
    request (its links died after 7 days). ``unsubscribed_days``: an unsubscribed record
    is deleted this long after the reader left, leaving only a keyed hash so no import
    brings the address back. ``notice_url`` and ``notice_text``: a link to the newsroom's
    privacy notice and a short text (purpose, items, retention, as PIPA art. 15 asks).
    ``transactional_mail_days``: a confirmation or test mail's outbox row (it holds the
    address) is deleted this long after it was sent or given up; queued rows stay.
    """

    pending_days: int = 30
    unsubscribed_days: int = 365
    notice_url: str = ""
    notice_text: str = ""
    transactional_mail_days: int = 30


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
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    secret_key: str = field(default="", repr=False)
    # The file the key is kept in (secret_key_file, or the demo's .secret_key); None when it
    # comes from $SYNDICATION_SECRET_KEY or is not set (settings/signing_key.py).
    secret_key_file: Path | None = None
    # Lets /metrics be scraped from off the machine (Authorization: Bearer …).
    metrics_token: str = field(default="", repr=False)
    source: str = "built-in defaults"
    # A folder whose files override the packaged templates by name ([templates] dir).
    templates_dir: Path | None = None
    sources: tuple[SourceSettings, ...] = ()
    languages: LanguageSettings = field(default_factory=LanguageSettings)

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


def relative_luminance(color: str) -> float:
    """WCAG 2 relative luminance of a ``#rrggbb`` colour (0 black … 1 white)."""

    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(color[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def kind_name(kind: type) -> str:
    return {
        str: "a string",
        int: "an integer",
        float: "a number",
        list: "an array",
        bool: "true or false",
        dict: "a table",
    }.get(kind, kind.__name__)
