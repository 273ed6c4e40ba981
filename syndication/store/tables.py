"""The database schema as SQLAlchemy Core tables on one :data:`metadata`. Alembic owns its
evolution; :mod:`syndication.store.models` maps ORM classes onto these tables.

Commands that only read (``status``, ``/healthz``, ``/metrics``) query these tables
through a Core connection, so they never import ``sqlalchemy.orm`` or map the classes
(~160 ms of each start; issue 24). This module must not import ``sqlalchemy.orm``.

Times are stored as UTC and come back timezone-aware (:class:`UTCDateTime`), whatever the
backend: SQLite has no timezone type, so it keeps naive UTC; PostgreSQL keeps timestamptz.

Every article write takes a number from the ``article_changes`` counter (its
``change_seq``). Pollers ask "what changed since N" with that number rather than with
``updated_at``, which belongs to the newsroom and may lie in the past (a backdated article
or correction would otherwise be missed). Topics carry the number of the last change that
touched them, so a build can find the feeds to rewrite with one query on a small table,
including a topic an article just left.

Mailing lists live in the settings, so rows refer to them by slug. A digest is unique per
(list, period) and a delivery per (digest, subscriber): compiling twice adds nothing, and
no subscriber can be queued twice for one digest.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ARTICLE_CHANGES = "article_changes"
FEEDS_BUILT = "feeds_built"  # the change number the feed files reflect (the feed build's watermark)

SUBSCRIBER_STATUSES = ("pending", "active", "unsubscribed", "bounced", "complained")
DELIVERY_STATUSES = ("queued", "sending", "sent", "failed", "bounced", "skipped")
MAIL_KINDS = ("confirm", "test")
BOUNCE_KINDS = (
    "hard",
    "soft",
    "blocked",
    "complaint",
    "unsubscribe",
    "delayed",
    "delivered",
    "auto-reply",
    "ignored",
    "unknown",
    "restored",
)
# A digest's ``state`` says whether senders may take its deliveries: ``ready`` (an
# automatic list's digest) and ``approved`` go out; ``held`` (compiled for a list with
# manual approval, or stopped by an operator) and ``cancelled`` do not.
DIGEST_STATES = ("ready", "held", "approved", "cancelled")
SENDABLE_DIGEST_STATES = ("ready", "approved")
USER_ROLES = ("operator", "viewer")
ERASURE_REASONS = ("erased", "unsubscribed", "suppressed")


# Search by any part of an address or name: trigram GIN indexes (pg_trgm) on PostgreSQL,
# which serve ILIKE '%…%'; SQLite has none and scans (bench/bench_console.py). Made by
# migration 0017 on PostgreSQL only, so they are not models' indexes: autogenerate and the
# schema test leave them out by name.
POSTGRESQL_SEARCH_INDEXES = ("ix_subscribers_email_trgm", "ix_subscribers_name_trgm")


def in_models(item: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic's ``include_object``: every schema object but :data:`POSTGRESQL_SEARCH_INDEXES`."""
    return not (type_ == "index" and name in POSTGRESQL_SEARCH_INDEXES)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime in, an aware UTC datetime out; naive values are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} reached the database; give it a zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = MetaData(naming_convention=NAMING_CONVENTION)

article_topics = Table(
    "article_topics",
    metadata,
    Column("article_id", ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("topic_id", ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_article_topics_topic_id", "topic_id"),
)

counters = Table(
    "counters",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("value", BigInteger, default=0, nullable=False),
)

topics = Table(
    "topics",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("slug", String(100), unique=True, nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", Text, default="", nullable=False),
    Column("change_seq", BigInteger, default=0, index=True, nullable=False),
)

articles = Table(
    "articles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", String(200), unique=True, nullable=False),
    Column("title", Text, nullable=False),
    Column("summary", Text, default="", nullable=False),
    Column("body_html", Text, default="", nullable=False),
    Column("url", Text, nullable=False),
    Column("author", String(300), default="", nullable=False),
    Column("image_url", Text, default="", nullable=False),
    Column("language", String(35), default="en", nullable=False),
    Column("published_at", UTCDateTime, nullable=False),
    Column("id_date", String(10), server_default="", nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("status", String(16), default="published", nullable=False),
    Column("retracted_at", UTCDateTime, nullable=True),
    Column("retraction_reason", Text, default="", nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("change_seq", BigInteger, index=True, nullable=False),
    Column("translation_of", String(200), default="", server_default="", nullable=False),
    CheckConstraint("status IN ('published', 'retracted')", name="status"),
    Index("ix_articles_published_at", "published_at"),
    Index("ix_articles_updated_at", "updated_at"),
    # Sources find "the same story from another source" by its link (issue 27). A
    # hash index on PostgreSQL: equality is all it serves, and a B-tree entry cannot
    # hold a URL of several kilobytes. Migration 0012 creates it with USING hash; it
    # is not written here as ``postgresql_using``, because naming a dialect's option
    # makes SQLAlchemy import that whole dialect (every PostgreSQL driver module) on
    # every start, SQLite stores included (~50 ms of each command; issue 24).
    # tests/store/test_database.py checks the index's kind on PostgreSQL.
    Index("ix_articles_url", "url"),
    # The translations of a story name its source id (issue 30): a feed build finds
    # a group's members by it. Empty for an original.
    Index("ix_articles_translation_of", "translation_of"),
)

topic_departures = Table(
    "topic_departures",
    metadata,
    Column("article_id", ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("topic_id", ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True),
    Column("departed_at", UTCDateTime, nullable=False),
    Column("reason", Text, nullable=False),
    Index("ix_topic_departures_topic_id_departed_at", "topic_id", "departed_at"),
)

subscribers = Table(
    "subscribers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(254), unique=True, nullable=False),
    Column("name", String(200), default="", nullable=False),
    Column("locale", String(20), default="en", nullable=False),
    Column("status", String(16), default="pending", nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("confirmed_at", UTCDateTime, nullable=True),
    Column("request_nonce", String(32), nullable=True),
    CheckConstraint(
        "status IN ('pending', 'active', 'unsubscribed', 'bounced', 'complained')",
        name="status",
    ),
    # The console's subscribers page at newsroom scale (issue 28): filters by status
    # and sign-up date walk these, in address order for the page.
    Index("ix_subscribers_status_email", "status", "email"),
    Index("ix_subscribers_created_at", "created_at"),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("subscriber_id", ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True),
    Column("list_slug", String(100), primary_key=True, index=True),
    Column("created_at", UTCDateTime, nullable=False),
)

suppressions = Table(
    "suppressions",
    metadata,
    Column("email", String(254), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

digests = Table(
    "digests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("list_slug", String(100), nullable=False),
    Column("period_key", String(10), nullable=False),
    Column("period_start", UTCDateTime, nullable=False),
    Column("period_end", UTCDateTime, nullable=False),
    Column("subject", Text, nullable=False),
    Column("preheader", Text, default="", nullable=False),
    Column("html", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("article_count", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("list_slug", "period_key", name="uq_digests_list_period"),
)

digest_languages = Table(
    "digest_languages",
    metadata,
    Column("digest_id", ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True),
    Column("language", String(35), primary_key=True),
    Column("subject", Text, nullable=False),
    Column("preheader", Text, nullable=False),
    Column("html", Text, nullable=False),
    Column("text", Text, nullable=False),
)

# An article link of a click-counting digest (issue 31): what /r/<token> names.
digest_links = Table(
    "digest_links",
    metadata,
    Column("digest_id", ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("article_id", ForeignKey("articles.id", ondelete="CASCADE"), index=True, nullable=False),
    Column("url", Text, nullable=False),
)

# Sums per digest and article: readers' clicks and scanners' requests (issue 31); nothing
# per person.
digest_clicks = Table(
    "digest_clicks",
    metadata,
    Column("digest_id", ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True),
    Column("article_id", ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("reader_clicks", BigInteger, default=0, nullable=False),
    Column("scanner_requests", BigInteger, default=0, nullable=False),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("digest_id", ForeignKey("digests.id", ondelete="CASCADE"), nullable=False),
    Column("subscriber_id", ForeignKey("subscribers.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(16), default="queued", nullable=False),
    Column("attempts", Integer, default=0, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("claimed_by", String(100), default="", nullable=False),
    Column("claim_token", String(64), server_default="", index=True, nullable=False),
    Column("last_error", Text, default="", nullable=False),
    Column("message_id", String(300), default="", nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    UniqueConstraint("digest_id", "subscriber_id", name="uq_deliveries_digest_subscriber"),
    CheckConstraint(
        "status IN ('queued', 'sending', 'sent', 'failed', 'bounced', 'skipped')",
        name="status",
    ),
    Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
)

transactional_mails = Table(
    "transactional_mails",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("subscriber_id", ForeignKey("subscribers.id", ondelete="CASCADE"), nullable=True),
    Column("digest_id", ForeignKey("digests.id", ondelete="CASCADE"), nullable=True),
    Column("email", String(254), nullable=False),
    Column("request", String(32), default="", nullable=False),
    Column("status", String(16), default="queued", nullable=False),
    Column("attempts", Integer, default=0, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("give_up_at", UTCDateTime, nullable=False),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("claimed_by", String(100), default="", nullable=False),
    Column("claim_token", String(64), default="", index=True, nullable=False),
    Column("last_error", Text, default="", nullable=False),
    Column("message_id", String(300), default="", nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    # When the row reached a final status (sent, failed, bounced, skipped): what the
    # retention job prunes by (``[privacy] transactional_mail_days``).
    Column("settled_at", UTCDateTime, index=True, nullable=True),
    CheckConstraint("kind IN ('confirm', 'test')", name="kind"),
    CheckConstraint(
        "status IN ('queued', 'sending', 'sent', 'failed', 'bounced', 'skipped')",
        name="status",
    ),
    Index("ix_transactional_mails_status_next_attempt_at", "status", "next_attempt_at"),
    Index("ix_transactional_mails_subscriber_id_created_at", "subscriber_id", "created_at"),
)

job_runs = Table(
    "job_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("job_id", String(100), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("skipped", Boolean, default=False, nullable=False),
    Column("summary", Text, default="", nullable=False),
    Column("error", Text, default="", nullable=False),
    Index("ix_job_runs_job_id_started_at", "job_id", "started_at"),
)

source_states = Table(
    "source_states",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("cursor", Text, default="", nullable=False),
    Column("memo", Text, default="{}", nullable=False),
    Column("last_poll_at", UTCDateTime, nullable=True),
    Column("last_success_at", UTCDateTime, nullable=True),
    Column("last_full_at", UTCDateTime, nullable=True),
    Column("last_result", Text, default="", nullable=False),
    Column("last_error", Text, default="", nullable=False),
    Column("failures", Integer, default=0, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=True),
)

article_aliases = Table(
    "article_aliases",
    metadata,
    Column("source_id", String(200), primary_key=True),
    Column("article_source_id", String(200), index=True, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), unique=True, nullable=False),
    Column("key_hash", String(64), unique=True, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("source", String(100), nullable=True),
)

rate_limits = Table(
    "rate_limits",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("next_at", Float, nullable=False),
)

bounce_intake = Table(
    "bounce_intake",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("received_at", UTCDateTime, nullable=False),
    Column("source", String(20), nullable=False),
    Column("envelope_sender", String(300), default="", nullable=False),
    Column("envelope_recipients", Text, default="", nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("state", String(10), default="queued", nullable=False),
    Column("processed_at", UTCDateTime, nullable=True),
    Column("note", Text, default="", nullable=False),
    CheckConstraint("state IN ('queued', 'done', 'ignored', 'failed')", name="state"),
    Index("ix_bounce_intake_state_id", "state", "id"),
)

bounce_events = Table(
    "bounce_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("report_key", String(100), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("source", String(20), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("reason", String(32), default="", server_default="", nullable=False),
    Column("evidence", Text, default="", server_default="", nullable=False),
    Column("status_code", String(16), default="", nullable=False),
    Column("action", String(20), default="", nullable=False),
    Column("diagnostic", Text, default="", nullable=False),
    Column("recipient", String(254), default="", nullable=False),
    Column("subscriber_id", ForeignKey("subscribers.id", ondelete="SET NULL"), nullable=True),
    Column("delivery_id", ForeignKey("deliveries.id", ondelete="SET NULL"), nullable=True),
    Column("digest_id", ForeignKey("digests.id", ondelete="SET NULL"), nullable=True),
    Column("effect", Text, default="", nullable=False),
    Column("report", LargeBinary, default=b"", nullable=False),
    UniqueConstraint("report_key", name="uq_bounce_events_report_key"),
    Index("ix_bounce_events_digest_id_kind", "digest_id", "kind"),
    Index("ix_bounce_events_subscriber_id", "subscriber_id"),
    Index("ix_bounce_events_reason_created_at", "reason", "created_at"),
)

soft_bounces = Table(
    "soft_bounces",
    metadata,
    Column("subscriber_id", ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True),
    Column("digest_id", ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
)

digest_states = Table(
    "digest_states",
    metadata,
    Column("digest_id", ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("changed_at", UTCDateTime, nullable=False),
    Column("changed_by", String(254), default="", nullable=False),
    Column("approved_at", UTCDateTime, nullable=True),
    Column("approved_by", String(254), default="", nullable=False),
    CheckConstraint("state IN ('ready', 'held', 'approved', 'cancelled')", name="state"),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(254), unique=True, nullable=False),
    Column("role", String(16), default="viewer", nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("password_changed_at", UTCDateTime, nullable=False),
    CheckConstraint("role IN ('operator', 'viewer')", name="role"),
)

user_sessions = Table(
    "user_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Index("ix_user_sessions_user_id", "user_id"),
)

login_failures = Table(
    "login_failures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(254), nullable=False),
    Column("client", String(100), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_login_failures_email_at", "email", "at"),
    Index("ix_login_failures_client_at", "client", "at"),
)

consent_records = Table(
    "consent_records",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("subscriber_id", ForeignKey("subscribers.id", ondelete="CASCADE"), nullable=False),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("method", String(20), nullable=False),
    Column("origin", Text, default="", nullable=False),
    Column("lists", Text, default="", nullable=False),
    Column("client_ip", String(64), default="", nullable=False),
    Column("request_nonce", String(32), default="", nullable=False),
    Column("confirmed_at", UTCDateTime, nullable=True),
    Column("confirmation", Text, default="", nullable=False),
    Index("ix_consent_records_subscriber_id", "subscriber_id"),
)

erased_addresses = Table(
    "erased_addresses",
    metadata,
    Column("address_hash", String(64), primary_key=True),
    Column("reason", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("reason IN ('erased', 'unsubscribed', 'suppressed')", name="reason"),
)

# One operator action (issue 28; models.AuditEvent says what each column holds).
audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(254), nullable=False),
    Column("source", String(16), nullable=False),
    Column("client", String(100), default="", nullable=False),
    Column("action", String(40), nullable=False),
    Column("subject_kind", String(20), nullable=False),
    Column("subject_key", String(254), nullable=False),
    Column("detail", Text, default="", nullable=False),
    CheckConstraint("source IN ('console', 'cli', 'system')", name="source"),
    Index("ix_audit_events_at", "at"),
    Index("ix_audit_events_subject_kind_subject_key_at", "subject_kind", "subject_key", "at"),
    Index("ix_audit_events_actor_at", "actor", "at"),
    Index("ix_audit_events_action_at", "action", "at"),
)
