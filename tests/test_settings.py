from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from syndication.errors import ConfigError
from syndication.settings import (
    DEMO_LISTS,
    DEMO_TOPICS,
    ImportSettings,
    PrivacySettings,
    WebSettings,
    load_settings,
    resolve_config_path,
)

EXAMPLE = Path(__file__).parent.parent / "examples" / "syndication.toml"


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "syndication.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_defaults_describe_the_demo_newsroom() -> None:
    settings = load_settings(None, {})
    assert settings.topics == DEMO_TOPICS
    assert settings.lists == DEMO_LISTS
    assert settings.site.timezone == "Asia/Seoul"
    assert settings.site.domain == "news.example.org"
    assert settings.database.url == "sqlite:///syndication.db"
    assert settings.mail.transport == "file"
    assert settings.scheduler.max_digest_delay == timedelta(hours=24)


def test_example_file_loads_and_matches_the_documented_keys() -> None:
    settings = load_settings(EXAMPLE, {})
    assert settings.source == str(EXAMPLE)
    assert settings.site.feeds_url == "https://news.example.org/feeds"
    assert [ml.slug for ml in settings.lists] == ["weekly-international", "weekly-city"]
    assert settings.mail.smtp.security == "none"
    assert settings.imports == ImportSettings()
    assert settings.web == WebSettings()
    assert settings.privacy == PrivacySettings()


def test_environment_supplies_secrets_and_database_url(tmp_path: Path) -> None:
    path = write(tmp_path, '[mail.smtp]\npassword_env = "MY_SMTP_PASSWORD"\n')
    settings = load_settings(
        path,
        {
            "MY_SMTP_PASSWORD": "hunter2",
            "SYNDICATION_SECRET_KEY": "k" * 32,
            "SYNDICATION_DATABASE_URL": "postgresql://postgres@127.0.0.1/test",
        },
    )
    assert settings.mail.smtp.password == "hunter2"
    assert "hunter2" not in repr(settings)
    assert settings.secret_key == "k" * 32
    assert settings.database.url == "postgresql+psycopg://postgres@127.0.0.1/test"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[sitee]\n", "sitee: unknown key"),
        ("[site]\ntitel = 'x'\n", "site.titel: unknown key"),
        ("[site]\ntimezone = 'Asia/Seol'\n", "site.timezone: unknown timezone 'Asia/Seol'"),
        ("[site]\nbase_url = 'news.example.org'\n", "site.base_url: 'news.example.org' is not"),
        ("[site]\nfeeds_url = 'ftp://x.org/f'\n", "site.feeds_url:"),
        ("[site]\nlogo_url = 'http://x.org/l.png'\n", "site.logo_url: 'http://x.org/l.png'"),
        ("[site]\nbrand_color = 'blue'\n", "site.brand_color: 'blue' is not a colour"),
        ("[site]\nbrand_color = '#7fb3e6'\n", "site.brand_color: '#7fb3e6' is too light"),
        ("[feeds]\nentries = '50'\n", "feeds.entries: must be an integer"),
        ("[feeds]\nentries = 0\n", "feeds.entries: must be between 1 and 1000"),
        ("[feeds]\nwebsub_hub = 'hub'\n", "feeds.websub_hub:"),
        ("[mail]\ntransport = 'pigeon'\n", "mail.transport: 'pigeon' is not one of file, smtp"),
        # The rule every message's From is built with (core/mime.py), judged at start.
        ("[mail]\nfrom = 'City News <news@example>'\n", "mail.from: must be an address"),
        ("[mail]\nfrom = 'News <ne ws@example.org>'\n", "mail.from: must be an address"),
        ("[mail]\nfrom = 'a, news@example.org'\n", "mail.from: must be an address"),
        ('[mail]\nfrom = "News\\r\\nBcc: x@example.org"\n', "mail.from: must be an address"),
        ("[mail.smtp]\nport = 70000\n", "mail.smtp.port: must be a TCP port"),
        ("[mail.smtp]\nsecurity = 'ssl'\n", "mail.smtp.security:"),
        ("[mail.dkim]\ndomain = 'news.example.org'\n", "mail.dkim.selector: missing"),
        (
            "[mail.dkim]\ndomain = 'news'\nselector = 's1'\nkey_file = 'k.pem'\n",
            "mail.dkim.domain: 'news' is not a domain name",
        ),
        (
            "[mail.dkim]\ndomain = 'example.org'\nselector = 'a b'\nkey_file = 'k.pem'\n",
            "mail.dkim.selector: 'a b' is not a DNS label",
        ),
        ("[mail.dkim]\nkeyfile = 'k.pem'\n", "mail.dkim.keyfile: unknown key"),
        ("[mail.smtp]\nhots = 'x'\n", "mail.smtp.hots: unknown key"),
        ("[bounces.imap]\nhots = 'x'\n", "bounces.imap.hots: unknown key"),
        ("[database]\nurl = 'mysql://x/y'\n", "database.url: only sqlite"),
        ("[database]\nurl = 'not a url'\n", "database.url: not a database URL"),
        ("[database]\nurl = 'postgresql://h:pg/d'\n", "database.url: port 'pg' is not a number"),
        ("[scheduler]\nmax_digest_delay = 'a day'\n", "scheduler.max_digest_delay:"),
        ("[[topics]]\nslug = 'Bad Slug'\nname = 'x'\n", "topics[0].slug: 'Bad Slug' is not a slug"),
        ("[[topics]]\nslug = 'all'\nname = 'x'\n", "topics[0].slug: 'all' is reserved"),
        (
            "[[topics]]\nslug = 'a'\nname = 'A'\n[[lists]]\nslug = 'l'\nname = 'L'\n"
            "topics = ['b']\n",
            "lists[0].topics: unknown topic 'b'",
        ),
        (
            "[[lists]]\nslug = 'l'\nname = 'L'\ntopics = ['culture']\nschedule = '0 25 * * *'\n",
            "lists[0].schedule: invalid cron expression '0 25 * * *'",
        ),
        (
            "[[lists]]\nslug = 'l'\nname = 'L'\ntopics = ['culture']\nschedule = '0 8 31 2 *'\n",
            "lists[0].schedule: cron expression '0 8 31 2 *' never fires",
        ),
        ("[web]\ntrusted_proxies = ['nope']\n", "web.trusted_proxies: 'nope' is not an IP"),
        ("[web]\ntrusted_proxies = [1]\n", "web.trusted_proxies: 1 is not an IP address"),
        ("[web]\ntrusted_proxies = ['10.0.0.0/33']\n", "'10.0.0.0/33' is not an IP address or"),
        ("[web]\nheader_timeout_seconds = 0\n", "web.header_timeout_seconds: must be"),
        ("[import]\nmax_body_bytes = -1\n", "import.max_body_bytes: must be a whole number"),
        ("site = [", "not valid TOML"),
    ],
)
def test_bad_values_name_the_file_and_the_key(tmp_path: Path, body: str, message: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_settings(path, {})
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("[site]\ntitle = 'x'\n".encode("utf-16"), "saved as UTF-16"),
        (b"\xef\xbb\xbf[site]\ntitle = 'x'\n", "byte-order mark"),
        (b"[site]\ntitle = '\xff'\n", "not UTF-8 text"),
    ],
)
def test_a_file_in_another_encoding_is_one_clear_error(
    tmp_path: Path, data: bytes, message: str
) -> None:
    path = tmp_path / "syndication.toml"
    path.write_bytes(data)
    with pytest.raises(ConfigError, match=message):
        load_settings(path, {})


def test_config_path_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_config_path(None, {}) is None
    with pytest.raises(ConfigError, match="given by --config"):
        resolve_config_path(tmp_path / "missing.toml", {})
    with pytest.raises(ConfigError, match="SYNDICATION_CONFIG"):
        resolve_config_path(None, {"SYNDICATION_CONFIG": "elsewhere.toml"})
    (tmp_path / "syndication.toml").write_text("")
    assert resolve_config_path(None, {}) == Path("syndication.toml")


def test_default_lists_drop_out_when_their_topics_are_not_configured(tmp_path: Path) -> None:
    path = write(tmp_path, "[[topics]]\nslug = 'culture'\nname = 'Culture'\n")
    settings = load_settings(path, {})
    assert [t.slug for t in settings.topics] == ["culture"]
    assert settings.lists == ()


def test_a_list_may_ask_for_manual_approval_and_the_metrics_token_comes_from_the_env(
    tmp_path: Path,
) -> None:
    body = "[[topics]]\nslug = 'culture'\nname = 'Culture'\n[[lists]]\nslug = 'w'\nname = 'W'\n"
    body += "topics = ['culture']\napproval = '{}'\n"
    settings = load_settings(
        write(tmp_path, body.format("manual")), {"SYNDICATION_METRICS_TOKEN": "t0ken"}
    )
    assert settings.lists[0].approval == "manual" and settings.metrics_token == "t0ken"
    assert "t0ken" not in repr(settings)
    assert (
        load_settings(write(tmp_path, body.replace("approval = '{}'\n", "")), {}).lists[0].approval
        == "auto"
    )
    with pytest.raises(ConfigError, match=r"lists\[0\]\.approval: 'later' is not one of auto"):
        load_settings(write(tmp_path, body.format("later")), {})


def test_a_list_counts_clicks_only_when_it_says_so(tmp_path: Path) -> None:
    body = "[[topics]]\nslug = 'culture'\nname = 'Culture'\n[[lists]]\nslug = 'w'\nname = 'W'\n"
    body += "topics = ['culture']\n"
    assert load_settings(write(tmp_path, body), {}).lists[0].count_clicks is False
    counting = load_settings(write(tmp_path, body + "count_clicks = true\n"), {})
    assert counting.lists[0].count_clicks is True
    with pytest.raises(ConfigError, match=r"lists\[0\]\.count_clicks: must be "):
        load_settings(write(tmp_path, body + "count_clicks = 'yes'\n"), {})


def test_logo_and_brand_colour_from_the_site_table(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[site]\nlogo_url = 'https://news.example.org/logo.png'\nbrand_color = '#8A1538'\n",
    )
    site = load_settings(path, {}).site
    assert (site.logo_url, site.brand_color) == ("https://news.example.org/logo.png", "#8a1538")


def test_an_article_without_a_language_is_in_the_sites(tmp_path: Path) -> None:
    # Issue 26 item 6: it was "en" whatever the site's language.
    settings = load_settings(write(tmp_path, "[site]\nlanguage = 'ko'\n"), {})
    assert settings.imports.language == "ko"


def test_a_sender_with_a_display_name_in_any_script_loads(tmp_path: Path) -> None:
    for sender in (
        "서울시 뉴스 <news@example.org>",
        "news@example.org",
        '"News, City" <n@a.example>',
    ):
        path = write(tmp_path, f"[mail]\nfrom = '{sender}'\n")
        assert load_settings(path, {}).mail.from_address == sender


def test_source_limits_and_dedupe_defaults(tmp_path: Path) -> None:
    body = (
        '[[sources]]\nname = "cms"\nkind = "wordpress"\nurl = "https://a.example"\n'
        "max_pages = 5\nmax_poll_seconds = 60\n"
        '[[sources]]\nname = "site"\nkind = "feed"\nurl = "https://a.example/feed"\n'
        '[[sources]]\nname = "cat"\nkind = "feed"\nurl = "https://a.example/c"\ndedupe = false\n'
    )
    cms, site, cat = load_settings(write(tmp_path, body), {}).sources
    assert (cms.max_pages, cms.max_poll_seconds, cms.deduplicates) == (5, 60.0, False)
    assert (site.max_pages, site.max_poll_seconds, site.deduplicates) == (1000, 600.0, True)
    assert not cat.deduplicates
    assert (cms.follow_redirects, site.follow_redirects) == ("same-host", "same-host")
    with pytest.raises(ConfigError, match="max_poll_seconds"):
        load_settings(write(tmp_path, body.replace("= 60", "= 1")), {})
    loose = load_settings(write(tmp_path, body + 'follow_redirects = "any"\n'), {})
    assert loose.sources[2].follow_redirects == "any"
    with pytest.raises(ConfigError, match="follow_redirects.*not one of any, same-host"):
        load_settings(write(tmp_path, body + 'follow_redirects = "never"\n'), {})


def test_a_list_may_keep_its_digests_off_the_public_archive(tmp_path: Path) -> None:
    body = "[[topics]]\nslug = 'culture'\nname = 'Culture'\n[[lists]]\nslug = 'w'\nname = 'W'\n"
    body += "topics = ['culture']\n"
    assert load_settings(write(tmp_path, body), {}).lists[0].archive == "public"
    private = load_settings(write(tmp_path, body + "archive = 'private'\n"), {})
    assert private.lists[0].archive == "private"
    with pytest.raises(ConfigError, match=r"lists\[0\]\.archive: 'secret' is not one of private"):
        load_settings(write(tmp_path, body + "archive = 'secret'\n"), {})


def test_a_list_says_what_becomes_of_untranslated_stories(tmp_path: Path) -> None:
    body = "[[topics]]\nslug = 'culture'\nname = 'Culture'\n[[lists]]\nslug = 'w'\nname = 'W'\n"
    body += "topics = ['culture']\n"
    assert load_settings(write(tmp_path, body), {}).lists[0].translations == "fallback"
    only = load_settings(write(tmp_path, body + "translations = 'only'\n"), {})
    assert only.lists[0].translations == "only"
    with pytest.raises(ConfigError, match=r"lists\[0\]\.translations: 'none' is not one of"):
        load_settings(write(tmp_path, body + "translations = 'none'\n"), {})


def test_languages_name_the_primary_a_fallback_chain_and_each_lists_language(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "[languages]\navailable = ['en', 'KO', 'ja', 'zh-hant', 'zh-Hans']\n"
        "fallback = { ja = 'en', ko = 'en', zh-Hant = 'zh-Hans' }\n"
        "names = { zh-Hans = '中文（简体）' }\n"
        "[[lists]]\nslug = 'ko-weekly'\nname = 'K'\ntopics = ['culture']\nlanguage = 'ko'\n"
        "[[lists]]\nslug = 'each'\nname = 'E'\ntopics = ['culture']\nlanguage = 'reader'\n"
        "[[lists]]\nslug = 'plain'\nname = 'P'\ntopics = ['culture']\n",
    )
    settings = load_settings(path, {})
    languages = settings.languages
    assert languages.available == ("en", "ko", "ja", "zh-Hant", "zh-Hans")
    assert settings.site.language == "en" == languages.primary
    assert languages.chain("zh-Hant") == ("zh-Hant", "zh-Hans", "en")
    assert languages.chain("ja") == ("ja", "en")
    assert languages.chain("en") == ("en",)
    assert languages.name("ko") == "한국어" and languages.name("zh-Hans") == "中文（简体）"
    assert [ml.language for ml in settings.lists] == ["ko", "reader", "en"]


def test_without_languages_the_site_language_is_the_only_one(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "[site]\nlanguage = 'ko'\n"), {})
    assert settings.languages.available == ("ko",)
    assert settings.languages.chain("ko") == ("ko",)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[languages]\navailable = []\n", "languages.available: must be a non-empty array"),
        (
            "[languages]\navailable = ['english']\n",
            "languages.available: 'english' is not a BCP 47",
        ),
        ("[languages]\navailable = ['en', 'EN']\n", "languages.available: 'en' is listed twice"),
        (
            "[site]\nlanguage = 'ko'\n[languages]\navailable = ['en', 'ko']\n",
            "site.language: 'ko' is not the first of languages.available",
        ),
        (
            "[languages]\navailable = ['en', 'ja']\nfallback = { ja = 'fr' }\n",
            "languages.fallback.ja: 'fr' is not in languages.available",
        ),
        (
            "[languages]\navailable = ['en', 'ja']\nfallback = { de = 'en' }\n",
            "languages.fallback.de: 'de' is not in languages.available",
        ),
        (
            "[languages]\navailable = ['en', 'ja', 'ko']\nfallback = { ja = 'ko', ko = 'ja' }\n",
            "languages.fallback: falls back in a circle: ja -> ko -> ja",
        ),
        (
            "[languages]\navailable = ['en', 'ja']\nfallback = { ja = 1 }\n",
            "languages.fallback: must be a table of strings",
        ),
        (
            "[languages]\navailable = ['en']\n[[lists]]\nslug = 'l'\nname = 'L'\n"
            "topics = ['culture']\nlanguage = 'ko'\n",
            "lists[0].language: 'ko' is not one of reader, en",
        ),
        (
            "[languages]\navailable = ['en', 'ko']\n[[topics]]\nslug = 'ko'\nname = 'Korea'\n",
            "topics[0].slug: 'ko' names a language of languages.available",
        ),
    ],
)
def test_bad_languages_name_the_key(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(write(tmp_path, body), {})


def test_privacy_retention_and_notice(tmp_path: Path) -> None:
    assert load_settings(None, {}).privacy == PrivacySettings(30, 365, "", "")
    body = (
        "[privacy]\npending_days = 14\nunsubscribed_days = 730\ntransactional_mail_days = 7\n"
        "notice_url = 'https://news.example.org/privacy'\n"
        "notice_text = '''We keep your address and the lists you chose.\n"
        "Unsubscribed records are deleted after two years.'''\n"
    )
    loaded = load_settings(write(tmp_path, body), {}).privacy
    assert (loaded.pending_days, loaded.unsubscribed_days) == (14, 730)
    assert loaded.transactional_mail_days == 7
    assert loaded.notice_url == "https://news.example.org/privacy"
    assert loaded.notice_text.splitlines()[1].startswith("Unsubscribed records")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[privacy]\npending_days = 3\n", "privacy.pending_days: must be at least 7"),
        ("[privacy]\npending_days = '30'\n", "privacy.pending_days: must be an integer"),
        ("[privacy]\nunsubscribed_days = 0\n", "privacy.unsubscribed_days: must be a whole"),
        (
            "[privacy]\ntransactional_mail_days = 0\n",
            "privacy.transactional_mail_days: must be a whole number of days between 1 and 3650",
        ),
        (
            "[privacy]\ntransactional_mail_days = '30d'\n",
            "privacy.transactional_mail_days: must be an integer",
        ),
        ("[privacy]\nnotice_url = '/privacy'\n", "privacy.notice_url: '/privacy' is not an"),
        ('[privacy]\nnotice_text = "a\\u0007b"\n', "privacy.notice_text: holds a control"),
        (f"[privacy]\nnotice_text = '{'x' * 2001}'\n", "privacy.notice_text: 2001 characters"),
        ("[privacy]\nnotice = 'x'\n", "privacy.notice: unknown key (known: notice_text"),
    ],
)
def test_bad_privacy_values_name_the_file_and_the_key(
    tmp_path: Path, body: str, message: str
) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_settings(path, {})
    assert str(info.value).startswith(f"{path}: {message}")


# -- the signing key: where it comes from, how long it must be (issue 29) -------------------

LONG_KEY = "a-key-of-forty-bytes-for-these-tests-..."


def test_a_short_key_is_refused_naming_where_it_came_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = write(tmp_path, "secret_key_file = 'keys/short'\n")
    with pytest.raises(ConfigError) as refused:
        load_settings(config, {"SYNDICATION_SECRET_KEY": "x"})
    assert str(refused.value) == (
        "$SYNDICATION_SECRET_KEY: the secret key is 1 bytes long; it must have at least 32: "
        "make one with 'syndication keys generate'"
    )
    with pytest.raises(ConfigError, match=r"^\$SYNDICATION_SECRET_KEY: the secret key is 0 "):
        load_settings(None, {"SYNDICATION_SECRET_KEY": ""})
    # 31 bytes, counted as UTF-8 (a Korean syllable is three).
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "short").write_text("키" * 10 + "x\n", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_settings(config, {})
    assert str(refused.value).startswith(
        f"{tmp_path / 'keys' / 'short'} (secret_key_file in {config}): the secret key is "
        "31 bytes long"
    )
    (tmp_path / ".secret_key").write_text("demo\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^\.secret_key \(the demo's key: no settings file\)"):
        load_settings(None, {})


def test_the_key_file_is_found_from_the_settings_file_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "secret_key").write_text(LONG_KEY + "\n", encoding="utf-8")
    config = write(etc, "secret_key_file = 'secret_key'\n[site]\ntitle = 'x'\n")
    elsewhere = tmp_path / "srv"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = load_settings(config, {})
    assert settings.secret_key == LONG_KEY
    assert settings.secret_key_file == etc / "secret_key"
    assert LONG_KEY not in repr(settings)
    # The environment wins over the file.
    other = "b" * 40
    assert load_settings(config, {"SYNDICATION_SECRET_KEY": other}).secret_key == other

    (etc / "secret_key").unlink()
    with pytest.raises(ConfigError) as missing:
        load_settings(config, {})
    assert str(missing.value) == (
        f"{config}: secret_key_file: {etc / 'secret_key'} does not exist; make one with "
        f"'syndication keys generate' > {etc / 'secret_key'} (then chmod 600 it)"
    )
    with pytest.raises(ConfigError, match="secret_key_file: must be the path of a file"):
        load_settings(write(etc, "secret_key_file = 3\n"), {})


def test_only_the_demo_keeps_its_key_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".secret_key").write_text(LONG_KEY + "\n", encoding="utf-8")
    demo = load_settings(None, {})
    assert (demo.secret_key, demo.secret_key_file) == (LONG_KEY, Path(".secret_key"))
    # With a settings file, a .secret_key lying in the folder is not a key: it is read
    # from $SYNDICATION_SECRET_KEY or secret_key_file, or there is none.
    configured = load_settings(write(tmp_path, "[site]\ntitle = 'x'\n"), {})
    assert (configured.secret_key, configured.secret_key_file) == ("", None)
