"""Settings: ``syndication.toml`` plus a few environment variables, read once, frozen.

The file is optional: every key has a default, and the defaults describe the demo newsroom
(a city government's English news office), so ``make demo`` runs with no file at all. A key
the service does not know, a value of the wrong type, an unknown timezone, a cron expression
that does not parse or a URL that is not absolute http(s) is a :class:`ConfigError` naming
the file and the key, raised before anything runs.

Secrets never live in the file: the SMTP password comes from the environment variable the
file names (``mail.smtp.password_env``), the signing key from ``SYNDICATION_SECRET_KEY``
or the file ``secret_key_file`` names (``signing_key.py``: where it comes from, how long).
Nothing else in the package reads ``os.environ``; the CLI passes the environment in.
"""

from syndication.settings.loading import load_settings, resolve_config_path
from syndication.settings.model import (
    CONFIG_ENV,
    DATABASE_URL_ENV,
    DEFAULT_CONFIG_PATH,
    DEFAULT_IMPORT_LIMITS,
    DEMO_LISTS,
    DEMO_TOPICS,
    METRICS_TOKEN_ENV,
    READER_LANGUAGE,
    SECRET_KEY_ENV,
    SLUG_RE,
    SOURCE_KINDS,
    BounceSettings,
    DatabaseSettings,
    DkimSettings,
    FeedSettings,
    ImapSettings,
    ImportSettings,
    LanguageSettings,
    MailingList,
    MailSettings,
    PrivacySettings,
    SchedulerSettings,
    Settings,
    SiteSettings,
    SmtpSettings,
    SourceSettings,
    Topic,
    WebSettings,
    kind_name,
    relative_luminance,
)

__all__ = [
    "load_settings",
    "resolve_config_path",
    "DEFAULT_CONFIG_PATH",
    "CONFIG_ENV",
    "DATABASE_URL_ENV",
    "SECRET_KEY_ENV",
    "METRICS_TOKEN_ENV",
    "SLUG_RE",
    "Topic",
    "MailingList",
    "SiteSettings",
    "DatabaseSettings",
    "FeedSettings",
    "WebSettings",
    "ImportSettings",
    "LanguageSettings",
    "READER_LANGUAGE",
    "DEFAULT_IMPORT_LIMITS",
    "SmtpSettings",
    "DkimSettings",
    "MailSettings",
    "SOURCE_KINDS",
    "SourceSettings",
    "ImapSettings",
    "BounceSettings",
    "PrivacySettings",
    "SchedulerSettings",
    "DEMO_TOPICS",
    "DEMO_LISTS",
    "Settings",
    "relative_luminance",
    "kind_name",
]
