from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, bindparam, func, insert, inspect, select
from sqlalchemy.exc import DBAPIError

from syndication.errors import SyndicationError
from syndication.services import database, status
from syndication.settings import DatabaseSettings, Settings
from syndication.store import database as db
from syndication.store import tables
from syndication.store.models import TransactionalMail, UTCDateTime

TABLES = {"alembic_version", "counters", "topics", "articles", "article_topics"}


def test_upgrade_from_empty_then_downgrade_to_base_and_back(empty_database_url: str) -> None:
    engine = db.make_engine(empty_database_url)
    try:
        assert db.current_revision(engine) is None
        db.upgrade(engine)
        assert db.current_revision(engine) == db.head_revision()
        assert TABLES <= set(inspect(engine).get_table_names())
        db.downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        db.upgrade(engine)
        assert TABLES <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_init_is_safe_to_repeat(empty_database_url: str) -> None:
    settings = Settings(database=DatabaseSettings(url=empty_database_url))
    engine = database.open_engine(settings)
    try:
        assert database.init_store(settings, engine) == len(settings.topics)
        assert database.init_store(settings, engine) == 0
        summary = status.service_status(settings, engine, look_at_files=False)
        assert [t.slug for t in summary.articles.topics] == sorted(t.slug for t in settings.topics)
    finally:
        engine.dispose()


def test_commands_on_an_uninitialised_database_say_what_to_do(empty_database_url: str) -> None:
    engine = db.make_engine(empty_database_url)
    try:
        with pytest.raises(SyndicationError, match="run 'syndication init' first"):
            database.require_current_schema(engine)
    finally:
        engine.dispose()


def test_migrations_create_exactly_the_models(empty_database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from syndication.store.models import Base, in_models

    engine = db.make_engine(empty_database_url)
    try:
        db.upgrade(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_object": in_models}
            )
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_the_article_url_index_is_a_hash_index_on_postgresql(empty_database_url: str) -> None:
    # The model names this index without its PostgreSQL kind (see store/models.py), so
    # the comparison above cannot see the kind: the migration's USING hash is checked here.
    from sqlalchemy import text

    engine = db.make_engine(empty_database_url)
    try:
        if engine.dialect.name != "postgresql":
            pytest.skip("index kinds are PostgreSQL's")
        db.upgrade(engine)
        with engine.connect() as connection:
            definition = connection.execute(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_articles_url'")
            ).scalar_one()
        assert "USING hash" in definition
    finally:
        engine.dispose()


def test_the_head_revision_read_from_the_files_is_alembics() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS_DIR))
    assert db.head_revision() == ScriptDirectory.from_config(config).get_current_head()


def test_current_revision_is_alembics_after_an_upgrade(empty_database_url: str) -> None:
    engine = db.make_engine(empty_database_url)
    assert db.current_revision(engine) is None
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
    engine.dispose()


def test_migration_0005_backfills_the_id_date_from_published_at(empty_database_url: str) -> None:
    """Ids minted before 0005 were made of published_at's UTC date: the backfill keeps them."""
    from sqlalchemy import text

    engine = db.make_engine(empty_database_url)
    try:
        db.upgrade(engine, "0004")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO articles (source_id, title, summary, body_html, url, author,"
                    " image_url, language, published_at, updated_at, status,"
                    " retraction_reason, content_hash, change_seq) VALUES ('smg-1', 't', '',"
                    " '', 'https://news.example.org/1', '', '', 'en', :at, :at, 'published',"
                    " '', 'x', 1)"
                ),
                # 23:30 UTC on the 19th is the 20th in Seoul: the id takes the UTC date.
                {"at": datetime(2026, 11, 19, 23, 30, tzinfo=UTC)},
            )
        db.upgrade(engine)
        with engine.connect() as connection:
            id_date = connection.execute(text("SELECT id_date FROM articles")).scalar_one()
        assert id_date == "2026-11-19"
    finally:
        engine.dispose()


def test_migration_0021_backfills_settled_at_of_settled_mails_only(
    empty_database_url: str,
) -> None:
    """Mails settled before 0021 are pruned from their best known time: a sent one from
    ``sent_at``, a failed one from ``give_up_at``; queued ones get none (never pruned)."""
    from sqlalchemy import text

    engine = db.make_engine(empty_database_url)
    t0 = datetime(2026, 11, 19, 23, 30, tzinfo=UTC)
    day = timedelta(days=1)
    try:
        db.upgrade(engine, "0020")
        with engine.begin() as connection:
            for status, sent in (("sent", t0 + day), ("failed", None), ("queued", None)):
                connection.execute(
                    text(
                        "INSERT INTO transactional_mails (kind, email, request, status,"
                        " attempts, created_at, next_attempt_at, give_up_at, claimed_by,"
                        " claim_token, last_error, message_id, sent_at) VALUES ('test',"
                        " :email, '', :status, 1, :t0, :t0, :give_up, '', '', '', '', :sent)"
                    ).bindparams(
                        bindparam("t0", type_=UTCDateTime()),
                        bindparam("give_up", type_=UTCDateTime()),
                        bindparam("sent", type_=UTCDateTime()),
                    ),
                    {
                        "email": f"{status}@example.org",
                        "status": status,
                        "t0": t0,
                        "give_up": t0 + 2 * day,
                        "sent": sent,
                    },
                )
        db.upgrade(engine)
        with db.read_session(engine) as session:
            settled = {m.status: m.settled_at for m in session.scalars(select(TransactionalMail))}
        assert settled == {"sent": t0 + day, "failed": t0 + 2 * day, "queued": None}
        db.downgrade(engine, "0020")
        db.upgrade(engine)
    finally:
        engine.dispose()


def test_read_connection_keeps_no_write_and_postgresql_refuses_one(
    engine: Engine, backend: str
) -> None:
    """The status report's connection (issue 24): whatever it did is rolled back, and on
    PostgreSQL its transaction is READ ONLY, so a write fails at once."""
    probe = tables.counters.c.name == "probe"
    write = insert(tables.counters).values(name="probe", value=1)
    if backend == "postgresql":
        with pytest.raises(DBAPIError, match="read-only transaction"):
            with db.read_connection(engine) as connection:
                connection.execute(write)
    else:
        with db.read_connection(engine) as connection:
            connection.execute(write)
            assert connection.scalar(select(tables.counters.c.value).where(probe)) == 1
    with db.read_connection(engine) as connection:
        assert connection.scalar(select(func.count()).where(probe)) == 0
    with db.write_session(engine) as session:
        session.execute(write)
    with db.read_connection(engine) as connection:
        assert connection.scalar(select(tables.counters.c.value).where(probe)) == 1
