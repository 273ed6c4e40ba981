"""``syndication digest preview``: the job on every backend, and the real command."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import Engine

from syndication.core.articles import ArticleRecord
from syndication.errors import EmptyDigestError, InputError, NotFoundError
from syndication.services.digests import compiling, preview
from syndication.settings import Settings
from syndication.store import articles as store
from syndication.store import database as db
from tests.support.builders import JsonFactory
from tests.support.processes import syndication

ArticleFactory = Callable[..., ArticleRecord]


def week_of_articles(make_article: ArticleFactory) -> list[ArticleRecord]:
    """Articles in the week of Monday 2026-11-16 (Seoul), and one on each side of it."""
    return [
        make_article(
            "smg-env",
            title="Han River parks add shade",
            topics=("environment",),
            published_at=datetime(2026, 11, 17, 1, tzinfo=UTC),
        ),
        make_article(
            "smg-bus",
            title="서울 버스 노선 개편",
            topics=("transport", "environment"),
            published_at=datetime(2026, 11, 18, 1, tzinfo=UTC),
        ),
        make_article(
            "smg-gone",
            topics=("culture",),
            status="retracted",
            published_at=datetime(2026, 11, 18, 2, tzinfo=UTC),
        ),
        make_article(
            "smg-before",
            topics=("culture",),
            published_at=datetime(2026, 11, 15, 22, 59, tzinfo=UTC),
        ),
        make_article(
            "smg-intl",
            topics=("international-relations",),
            published_at=datetime(2026, 11, 19, 1, tzinfo=UTC),
        ),
    ]


@pytest.fixture
def filled(engine: Engine, make_article: ArticleFactory, now: datetime) -> Engine:
    with db.write_session(engine) as session:
        store.write_articles(session, week_of_articles(make_article), now)
    return engine


def test_preview_writes_the_three_files(settings: Settings, filled: Engine, tmp_path: Path) -> None:
    out = tmp_path / "preview"
    report = preview.preview_digest(
        settings, filled, "weekly-city", date(2026, 11, 18), "김민지 <minji@example.com>", out
    )
    assert report.period_key == "2026-11-16"
    assert report.article_count == 2
    assert report.subject == "City Life Weekly: 16–23 November 2026"
    assert sorted(p.name for p in report.files) == ["digest.html", "digest.txt", "message.eml"]
    message = message_from_bytes((out / "message.eml").read_bytes(), policy=policy.default)
    assert message["To"].addresses[0].display_name == "김민지"
    unsubscribe = "https://news.example.org/unsubscribe/SAMPLE-TOKEN-preview-only"
    assert message["List-Unsubscribe"] == f"<{unsubscribe}>"
    text = (out / "digest.txt").read_text(encoding="utf-8")
    assert "서울 버스 노선 개편" in text and "Han River parks add shade" in text
    assert "smg-gone" not in text and "smg-before" not in text
    assert unsubscribe in (out / "digest.html").read_text(encoding="utf-8")
    assert report.html_bytes < 90_000


def test_the_period_is_named_by_its_key_and_defaults_to_the_latest(
    settings: Settings, filled: Engine, tmp_path: Path
) -> None:
    monday = preview.preview_digest(
        settings, filled, "weekly-city", date(2026, 11, 16), None, tmp_path / "a"
    )
    assert monday.period_key == "2026-11-16"
    latest = preview.preview_digest(
        settings,
        filled,
        "weekly-city",
        None,
        None,
        tmp_path / "b",
        now=lambda: datetime(2026, 11, 28, 3, tzinfo=UTC),
    )
    assert latest.period_key == "2026-11-16"


def test_a_compiled_period_is_previewed_from_its_stored_copy(
    settings: Settings,
    filled: Engine,
    make_article: ArticleFactory,
    now: datetime,
    tmp_path: Path,
) -> None:
    compiled_at = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)
    compiling.compile_digest(settings, filled, "weekly-city", date(2026, 11, 18), compiled_at)
    # An editor corrects a title after the digest was compiled: the queue still sends the
    # stored copy, so that is what the preview shows.
    corrected = make_article(
        "smg-env",
        title="Han River parks add more shade",
        topics=("environment",),
        published_at=datetime(2026, 11, 17, 1, tzinfo=UTC),
        updated_at=datetime(2026, 11, 24, 1, tzinfo=UTC),
    )
    with db.write_session(filled) as session:
        store.write_articles(session, [corrected], now)
    report = preview.preview_digest(
        settings, filled, "weekly-city", date(2026, 11, 18), None, tmp_path / "stored"
    )
    assert report.compiled_at == compiled_at
    assert (report.article_count, report.shown) == (2, None)
    text = (tmp_path / "stored" / "digest.txt").read_text(encoding="utf-8")
    assert "Han River parks add shade" in text and "more shade" not in text
    message = message_from_bytes(
        (tmp_path / "stored" / "message.eml").read_bytes(), policy=policy.default
    )
    assert message["Subject"] == report.subject == "City Life Weekly: 16–23 November 2026"
    # A period not compiled yet is rendered from the articles as they are now.
    fresh = preview.preview_digest(
        settings, filled, "weekly-international", date(2026, 11, 18), None, tmp_path / "fresh"
    )
    assert fresh.compiled_at is None and fresh.shown == fresh.article_count


def test_preview_errors(settings: Settings, filled: Engine, tmp_path: Path) -> None:
    with pytest.raises(EmptyDigestError, match="period 2026-11-23"):
        preview.preview_digest(settings, filled, "weekly-city", date(2026, 11, 25), None, tmp_path)
    with pytest.raises(NotFoundError, match="known: weekly-international, weekly-city"):
        preview.preview_digest(settings, filled, "daily", None, None, tmp_path)
    with pytest.raises(InputError, match="--to"):
        preview.preview_digest(
            settings, filled, "weekly-city", date(2026, 11, 18), "nobody", tmp_path
        )


def test_digest_preview_command(
    tmp_path: Path, empty_database_url: str, make_article_json: JsonFactory
) -> None:
    lines = [
        make_article_json(
            "smg-env", topics=["environment"], published_at="2026-11-17T10:00:00+09:00"
        ),
        make_article_json("smg-bus", topics=["transport"], title="서울 버스 노선 개편"),
    ]
    (tmp_path / "news.jsonl").write_text(
        "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8"
    )
    for command in (["init"], ["articles", "import", "news.jsonl"]):
        result = syndication(*command, cwd=tmp_path, database_url=empty_database_url)
        assert result.returncode == 0, result.stderr

    result = syndication(
        "digest",
        "preview",
        "weekly-city",
        "--period",
        "2026-11-18",
        "--to",
        "Jane Doe <jane@example.com>",
        "--out",
        "preview",
        cwd=tmp_path,
        database_url=empty_database_url,
    )
    assert result.returncode == 0, result.stderr
    assert "subject: City Life Weekly: 16–23 November 2026" in result.stdout
    assert "articles: 2" in result.stdout
    assert "HTML: " in result.stdout and "bytes (limit 90,000)" in result.stdout
    for name in ("digest.html", "digest.txt", "message.eml"):
        assert (tmp_path / "preview" / name).is_file()

    result = syndication(
        "digest",
        "preview",
        "weekly-city",
        "--period",
        "2026-12-01",
        "--out",
        "empty",
        cwd=tmp_path,
        database_url=empty_database_url,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: weekly-city: no articles published from 2026-11-30")
    assert "Traceback" not in result.stderr

    for language, code, said in (
        ("en", 0, "preview of weekly-city 2026-11-16 in en written to en/"),
        ("ko", 2, "--language 'ko': not one of this newsroom's languages"),
    ):
        result = syndication(
            "digest",
            "preview",
            "weekly-city",
            "--period",
            "2026-11-18",
            "--language",
            language,
            "--out",
            language,
            cwd=tmp_path,
            database_url=empty_database_url,
        )
        assert result.returncode == code, result.stderr
        assert said in result.stdout + result.stderr

    result = syndication(
        "digest", "preview", "weekly-city", "--period", "soon", "--out", "x", cwd=tmp_path
    )
    assert result.returncode == 2
    assert "--period 'soon': not a date" in result.stderr
