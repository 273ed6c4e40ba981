"""Shared fixtures: settings, a database per test on every backend, a fixed clock.

Storage tests take ``database_url`` (or ``engine``) and run once per backend: SQLite
always, PostgreSQL when ``SYNDICATION_TEST_DATABASE_URL`` is set. A run that was asked for
PostgreSQL and cannot reach it fails; it never silently skips. Every test gets a database
of its own, created for it and dropped after it: a migrated template is made once per run
and copied (``CREATE DATABASE … TEMPLATE`` on PostgreSQL, a file copy on SQLite).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from syndication.core.articles import ArticleRecord
from syndication.settings import DatabaseSettings, FeedSettings, MailSettings, Settings
from syndication.store import database as db
from tests.support.builders import FIXED_NOW, JsonFactory, article_json
from tests.support.net import free_port
from tests.support.smtp import SmtpHandler, SmtpServer

PG_ENV = "SYNDICATION_TEST_DATABASE_URL"
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get(PG_ENV) else [])


def _pg_admin() -> Engine:
    url = make_url(os.environ[PG_ENV])
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return create_engine(url, isolation_level="AUTOCOMMIT")


def _pg_url(name: str) -> str:
    url = make_url(os.environ[PG_ENV])
    return url.set(drivername="postgresql+psycopg", database=name).render_as_string(
        hide_password=False
    )


def _drop_pg(admin: Engine, name: str) -> None:
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated PostgreSQL database to copy from; fails loudly if PostgreSQL is away."""
    admin = _pg_admin()
    name = f"syndication_tmpl_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any failure here must fail the run
        pytest.fail(f"{PG_ENV} is set but PostgreSQL cannot be used: {exc}", pytrace=False)
    engine = db.make_engine(_pg_url(name))
    db.upgrade(engine)
    engine.dispose()
    yield name
    _drop_pg(admin, name)
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def empty_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all, dropped after the test."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    admin = _pg_admin()
    name = f"syndication_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"{PG_ENV} is set but PostgreSQL cannot be used: {exc}", pytrace=False)
    yield _pg_url(name)
    _drop_pg(admin, name)
    admin.dispose()


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated, empty database of the test's own, dropped after the test."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "store.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    template_name: str = request.getfixturevalue("pg_template")
    admin = _pg_admin()
    name = f"syndication_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"'))
    yield _pg_url(name)
    _drop_pg(admin, name)
    admin.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Demo settings pointed at this test's database and folders."""
    return replace(
        Settings(),
        database=DatabaseSettings(url=database_url),
        feeds=FeedSettings(dir=tmp_path / "feeds"),
        mail=MailSettings(outbox_dir=tmp_path / "outbox"),
        secret_key="test-secret-key-not-for-production",
        source="test settings",
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = db.make_engine(settings.database.url)
    with db.write_session(engine) as session:
        from syndication.store import articles as store

        store.sync_topics(session, settings.topics)
    yield engine
    engine.dispose()


@pytest.fixture
def now() -> datetime:
    return FIXED_NOW


@pytest.fixture
def make_article() -> Callable[..., ArticleRecord]:
    """Build a valid ArticleRecord; keyword arguments override any field."""

    def build(source_id: str = "smg-1", **fields: Any) -> ArticleRecord:
        published = fields.pop("published_at", datetime(2026, 11, 20, 1, 0, tzinfo=UTC))
        values: dict[str, Any] = {
            "source_id": source_id,
            "title": f"Article {source_id}",
            "url": f"https://news.example.org/articles/{source_id}",
            "published_at": published,
            "updated_at": fields.pop("updated_at", published),
            "topics": ("international-relations",),
            "summary": "A summary.",
            "body_html": "<p>Body.</p>",
            "author": "International Relations Division",
            "image_url": "",
            "language": "en",
            "status": "published",
        }
        values.update(fields)
        return ArticleRecord(**values)

    return build


@pytest.fixture
def make_article_json() -> JsonFactory:
    return article_json


# -- a real SMTP server on loopback ---------------------------------------------------------


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real aiosmtpd server on 127.0.0.1 and a free port, stopped after the test."""
    from aiosmtpd.controller import Controller

    handler = SmtpHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", controller.port, handler)
    finally:
        controller.stop()


# -- feeds (issue 3) ----------------------------------------------------------------------
