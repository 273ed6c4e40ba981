"""The database schema, as typed SQLAlchemy 2 models. Alembic owns its evolution.

Times are stored as UTC and come back timezone-aware (:class:`UTCDateTime`), whatever the
backend: SQLite has no timezone type, so it keeps naive UTC; PostgreSQL keeps timestamptz.

Every article write takes a number from the ``article_changes`` counter (its
``change_seq``). Pollers ask "what changed since N" with that number rather than with
``updated_at``, which belongs to the newsroom and may lie in the past (a backdated article
or correction would otherwise be missed). Topics carry the number of the last change that
touched them, so a build can find the feeds to rewrite with one query on a small table,
including a topic an article just left.
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
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
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


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


article_topics = Table(
    "article_topics",
    Base.metadata,
    Column("article_id", ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    Column("topic_id", ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_article_topics_topic_id", "topic_id"),
)


class Counter(Base):
    """Named monotonic numbers: the article change sequence and consumers' watermarks."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class TopicRow(Base):
    """A topic as stored (the configured one is :class:`syndication.settings.Topic`)."""

    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    change_seq: Mapped[int] = mapped_column(BigInteger, default=0, index=True)


class Article(Base):
    __tablename__ = "articles"
    __table_args__ = (
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

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(300), default="")
    image_url: Mapped[str] = mapped_column(Text, default="")
    # A BCP 47 tag (core.language_tags); RFC 5646 section 4.4.1 asks for room for 35.
    language: Mapped[str] = mapped_column(String(35), default="en")
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The UTC date (YYYY-MM-DD) in the article's tag URI, set on first insert from
    # published_at and never updated: correcting published_at must not change the id.
    id_date: Mapped[str] = mapped_column(String(10), server_default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="published")
    retracted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    retraction_reason: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    change_seq: Mapped[int] = mapped_column(BigInteger, index=True)
    # The source id this article translates, as the newsroom gave it ("" for an
    # original); it may name an article that has not arrived yet (core.translations).
    translation_of: Mapped[str] = mapped_column(String(200), default="", server_default="")

    topics: Mapped[list[TopicRow]] = relationship(secondary=article_topics, lazy="raise")


class TopicDeparture(Base):
    """An article that left a topic it was in (issue 26 item 3).

    The topic's Atom feed and the archive of the article's month keep an RFC 6721
    tombstone for it, as for a retraction: a partner mirroring that topic learns the
    entry is gone from it. ``departed_at`` is the ``updated_at`` of the write that took
    the article out; ``reason`` the tombstone's comment ("moved to Economy"). The row is
    removed when the article comes back to the topic.
    """

    __tablename__ = "topic_departures"
    __table_args__ = (Index("ix_topic_departures_topic_id_departed_at", "topic_id", "departed_at"),)

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    topic_id: Mapped[int] = mapped_column(
        ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True
    )
    departed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text)


# -- subscribers and the outbox ---------------------------------------------------------
#
# Mailing lists live in the settings, so rows refer to them by slug. A digest is unique per
# (list, period) and a delivery per (digest, subscriber): compiling twice adds nothing, and
# no subscriber can be queued twice for one digest.

SUBSCRIBER_STATUSES = ("pending", "active", "unsubscribed", "bounced", "complained")
DELIVERY_STATUSES = ("queued", "sending", "sent", "failed", "bounced", "skipped")


# Search by any part of an address or name: trigram GIN indexes (pg_trgm) on PostgreSQL,
# which serve ILIKE '%…%'; SQLite has none and scans (bench/bench_console.py). Made by
# migration 0017 on PostgreSQL only, so they are not models' indexes: autogenerate and the
# schema test leave them out by name.
POSTGRESQL_SEARCH_INDEXES = ("ix_subscribers_email_trgm", "ix_subscribers_name_trgm")


def in_models(item: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic's ``include_object``: every schema object but :data:`POSTGRESQL_SEARCH_INDEXES`."""
    return not (type_ == "index" and name in POSTGRESQL_SEARCH_INDEXES)


class Subscriber(Base):
    __tablename__ = "subscribers"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'active', 'unsubscribed', 'bounced', 'complained')",
            name="status",
        ),
        # The console's subscribers page at newsroom scale (issue 28): filters by status
        # and sign-up date walk these, in address order for the page.
        Index("ix_subscribers_status_email", "status", "email"),
        Index("ix_subscribers_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    locale: Mapped[str] = mapped_column(String(20), default="en")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The pending sign-up request a confirmation link is for: a random nonce, renewed
    # whenever the request changes (new lists, new name, re-subscribed) and cleared when
    # the subscriber leaves. Confirmation tokens carry it, so a link confirms exactly the
    # request it was mailed for (issue 15 item 3).
    request_nonce: Mapped[str | None] = mapped_column(String(32), nullable=True)


class Subscription(Base):
    __tablename__ = "subscriptions"

    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    )
    list_slug: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Suppression(Base):
    """Addresses that must never be mailed again (hard bounce, complaint, operator)."""

    __tablename__ = "suppressions"

    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Digest(Base):
    """One list's digest for one period, rendered and CSS-inlined once."""

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("list_slug", "period_key", name="uq_digests_list_period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_slug: Mapped[str] = mapped_column(String(100))
    period_key: Mapped[str] = mapped_column(String(10))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    subject: Mapped[str] = mapped_column(Text)
    preheader: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    article_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DigestLanguage(Base):
    """A "reader" list's digest in one more language than the primary (issue 30): rendered
    and inlined once per list, period and language; its readers are spliced into it."""

    __tablename__ = "digest_languages"

    digest_id: Mapped[int] = mapped_column(
        ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(String(35), primary_key=True)
    subject: Mapped[str] = mapped_column(Text)
    preheader: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)


class DigestLink(Base):
    """An article link of a click-counting digest (issue 31): what ``/r/<token>`` names.

    ``url`` is the link as the digest was rendered with it (what the sender rewrites);
    the redirect goes to the article's current URL, read from ``articles``."""

    __tablename__ = "digest_links"

    digest_id: Mapped[int] = mapped_column(
        ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(Text)


class DigestClicks(Base):
    """Sums per digest and article: readers' clicks and scanners' requests (issue 31).

    Aggregates only, by design: no subscriber, copy, address, time or agent is kept per
    click (tests/store/test_clicks.py checks the columns)."""

    __tablename__ = "digest_clicks"

    digest_id: Mapped[int] = mapped_column(
        ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True
    )
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    reader_clicks: Mapped[int] = mapped_column(BigInteger, default=0)
    scanner_requests: Mapped[int] = mapped_column(BigInteger, default=0)


class Delivery(Base):
    """One digest to one subscriber: the outbox row that senders claim with a lease."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("digest_id", "subscriber_id", name="uq_deliveries_digest_subscriber"),
        CheckConstraint(
            "status IN ('queued', 'sending', 'sent', 'failed', 'bounced', 'skipped')",
            name="status",
        ),
        Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claimed_by: Mapped[str] = mapped_column(String(100), default="")
    # Unique per claim: renew, send and settle touch only rows whose token is still ours.
    claim_token: Mapped[str] = mapped_column(String(64), server_default="", index=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str] = mapped_column(String(300), default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


MAIL_KINDS = ("confirm", "test")


class TransactionalMail(Base):
    """One mail a person is waiting for: a double opt-in confirmation or an operator's
    test send. The outbox row of :mod:`syndication.store.mail_outbox`, claimed, renewed
    and settled like a :class:`Delivery`.

    The message is built when it is sent, from what the row names: the subscriber and the
    sign-up ``request`` (the nonce its confirmation link is bound to) or the digest and the
    ``email`` a test goes to, with links and Message-ID issued at ``created_at``, so a
    retried message is the same message. ``give_up_at`` bounds how long it is retried.
    """

    __tablename__ = "transactional_mails"
    __table_args__ = (
        CheckConstraint("kind IN ('confirm', 'test')", name="kind"),
        CheckConstraint(
            "status IN ('queued', 'sending', 'sent', 'failed', 'bounced', 'skipped')",
            name="status",
        ),
        Index("ix_transactional_mails_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_transactional_mails_subscriber_id_created_at", "subscriber_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), nullable=True
    )
    digest_id: Mapped[int | None] = mapped_column(
        ForeignKey("digests.id", ondelete="CASCADE"), nullable=True
    )
    email: Mapped[str] = mapped_column(String(254))
    request: Mapped[str] = mapped_column(String(32), default="")
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    give_up_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claimed_by: Mapped[str] = mapped_column(String(100), default="")
    claim_token: Mapped[str] = mapped_column(String(64), default="", index=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str] = mapped_column(String(300), default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class JobRun(Base):
    """One run of a scheduled job and what came of it; ``syndication status`` shows the last.

    A catch-up digest the scheduler decided not to send (too late) is recorded here too,
    with ``skipped`` set, so that an operator sees it rather than wondering.
    """

    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_job_id_started_at", "job_id", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ok: Mapped[bool] = mapped_column(Boolean)
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)
    summary: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")


# -- sources and the push API (issue 11) --------------------------------------------------


class SourceState(Base):
    """What the ``sources`` job remembers of one upstream between polls.

    ``cursor`` is the kind's own position (WordPress: the newest ``modified_gmt`` stored)
    and ``memo`` (JSON) the ETag/Last-Modified of the last answers and what the kind caches
    (WordPress: category slugs); both are
    written in the transaction that stored the articles they cover. ``failures`` and
    ``next_attempt_at`` are the scheduler's back-off.
    """

    __tablename__ = "source_states"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    cursor: Mapped[str] = mapped_column(Text, default="")
    memo: Mapped[str] = mapped_column(Text, default="{}")
    last_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_full_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_result: Mapped[str] = mapped_column(Text, default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    failures: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ArticleAlias(Base):
    """An upstream item recorded as another name of an article already stored from another
    source (the same story in a site feed and its category feeds): ``source_id`` is the id
    the item would have had, ``article_source_id`` the article it is (issue 27 item 6)."""

    __tablename__ = "article_aliases"

    source_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    article_source_id: Mapped[str] = mapped_column(String(200), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiKey(Base):
    """A key a CMS pushes articles with; only its SHA-256 is stored (see store/api_keys.py)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The one source whose articles (ids "<source>:…") the key may write and retract;
    # NULL: any article (--any-source, and every key made before issue 27).
    source: Mapped[str | None] = mapped_column(String(100), nullable=True)


class RateLimit(Base):
    """A rate shared by every process on the database: the earliest time (epoch seconds)
    the next event may happen. ``mail.smtp.rate_per_second`` is a limit of the service,
    not of one sender, so senders on several machines take their slots from this row."""

    __tablename__ = "rate_limits"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    next_at: Mapped[float] = mapped_column(Float)


# -- bounces and complaints (issue 10) ---------------------------------------------------
#
# Every report that arrives is first written to ``bounce_intake`` (before the SMTP server
# answers 250, or before an IMAP message is moved), then processed. What processing
# decided is a ``bounce_events`` row, unique per report, with its evidence.

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


class BounceIntake(Base):
    """A report as it arrived (compressed), until processed: the intake's durable queue.

    ``state``: ``queued`` until processed, then ``done`` (an event recorded), ``ignored``
    (about nobody of ours, or not a report) or ``failed`` (reading it raised; ``note`` holds
    the one-line error, and the queue goes on without it).
    """

    __tablename__ = "bounce_intake"
    __table_args__ = (
        CheckConstraint("state IN ('queued', 'done', 'ignored', 'failed')", name="state"),
        Index("ix_bounce_intake_state_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(20))
    envelope_sender: Mapped[str] = mapped_column(String(300), default="")
    envelope_recipients: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(10), default="queued")
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")


class BounceEvent(Base):
    """One decision about one report (or one synchronous SMTP refusal), with its evidence."""

    __tablename__ = "bounce_events"
    __table_args__ = (
        UniqueConstraint("report_key", name="uq_bounce_events_report_key"),
        Index("ix_bounce_events_digest_id_kind", "digest_id", "kind"),
        Index("ix_bounce_events_subscriber_id", "subscriber_id"),
        Index("ix_bounce_events_reason_created_at", "reason", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_key: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(16))
    # Why (core/bounce_reasons.REASONS) and the field, code or phrase that decided it.
    reason: Mapped[str] = mapped_column(String(32), default="", server_default="")
    evidence: Mapped[str] = mapped_column(Text, default="", server_default="")
    status_code: Mapped[str] = mapped_column(String(16), default="")
    action: Mapped[str] = mapped_column(String(20), default="")
    diagnostic: Mapped[str] = mapped_column(Text, default="")
    recipient: Mapped[str] = mapped_column(String(254), default="")
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="SET NULL"), nullable=True
    )
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("deliveries.id", ondelete="SET NULL"), nullable=True
    )
    digest_id: Mapped[int | None] = mapped_column(
        ForeignKey("digests.id", ondelete="SET NULL"), nullable=True
    )
    effect: Mapped[str] = mapped_column(Text, default="")
    report: Mapped[bytes] = mapped_column(LargeBinary, default=b"")


class SoftBounce(Base):
    """A digest that soft-bounced for a subscriber: counted once per (subscriber, digest)."""

    __tablename__ = "soft_bounces"

    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    )
    digest_id: Mapped[int] = mapped_column(
        ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


# -- the operator console (issue 12) ------------------------------------------------------
#
# A digest's ``state`` says whether senders may take its deliveries: ``ready`` (an
# automatic list's digest) and ``approved`` go out; ``held`` (compiled for a list with
# manual approval, or stopped by an operator) and ``cancelled`` do not. The delivery rows
# keep their own status, so holding and resuming is exact: what went is ``sent``, the rest
# stays ``queued`` until the digest may go again.

DIGEST_STATES = ("ready", "held", "approved", "cancelled")
SENDABLE_DIGEST_STATES = ("ready", "approved")
USER_ROLES = ("operator", "viewer")


class DigestState(Base):
    """Who may send a digest, and who last decided so (one row per digest that has one).

    Kept beside ``digests`` rather than in it so that a digest without a row is ``ready``:
    everything compiled before the console existed keeps going out as it did.
    """

    __tablename__ = "digest_states"
    __table_args__ = (
        CheckConstraint("state IN ('ready', 'held', 'approved', 'cancelled')", name="state"),
    )

    digest_id: Mapped[int] = mapped_column(
        ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(String(16))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    changed_by: Mapped[str] = mapped_column(String(254), default="")
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    approved_by: Mapped[str] = mapped_column(String(254), default="")


class User(Base):
    """Someone who may sign in to the console: an ``operator`` acts, a ``viewer`` looks."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('operator', 'viewer')", name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(16), default="viewer")
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class UserSession(Base):
    """A signed-in browser. The cookie holds a random id; the row holds only its SHA-256,
    so a copy of the database does not let anyone sign in. Deleting the row ends it."""

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_user_id", "user_id"),)

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoginFailure(Base):
    """A failed sign-in, by address and client, kept for the lockout window."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_email_at", "email", "at"),
        Index("ix_login_failures_client_at", "client", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    client: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


# -- privacy (issue 29 item 8) ------------------------------------------------------------
#
# What the law asks us to be able to show and to forget. A consent record says how one
# sign-up request came (the form, the command line, an import), what it asked for and how
# it was confirmed; it goes with its subscriber. An erased or expired address leaves only
# a keyed hash (HMAC-SHA256 with the service key, core/privacy.py): enough to refuse it
# when it is typed again, not enough to list who it was without the key.

ERASURE_REASONS = ("erased", "unsubscribed", "suppressed")


class ConsentRecord(Base):
    """One sign-up request of a subscriber and its confirmation, as evidence of consent.

    ``method``: ``web form``, ``command line``, ``import``, ``api`` or ``preferences
    link``; ``origin`` the form's address, the file or the operator; ``request_nonce`` the
    request a confirmation link is bound to (subscribers.request_nonce); ``client_ip`` the
    web client's address when the form was used. ``confirmed_at`` and ``confirmation``
    (how) are set when the request was confirmed, or at once when an operator attests it.
    """

    __tablename__ = "consent_records"
    __table_args__ = (Index("ix_consent_records_subscriber_id", "subscriber_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    method: Mapped[str] = mapped_column(String(20))
    origin: Mapped[str] = mapped_column(Text, default="")
    lists: Mapped[str] = mapped_column(Text, default="")
    client_ip: Mapped[str] = mapped_column(String(64), default="")
    request_nonce: Mapped[str] = mapped_column(String(32), default="")
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    confirmation: Mapped[str] = mapped_column(Text, default="")


class ErasedAddress(Base):
    """An address we hold no record of and must not take back: its keyed hash only.

    ``reason``: ``erased`` (``subscribers erase``, at the person's request),
    ``unsubscribed`` (an unsubscribed record deleted after ``privacy.unsubscribed_days``)
    or ``suppressed`` (the same, for an address that was on the suppression list).
    """

    __tablename__ = "erased_addresses"
    __table_args__ = (
        CheckConstraint("reason IN ('erased', 'unsubscribed', 'suppressed')", name="reason"),
    )

    address_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEvent(Base):
    """One operator action (issue 28): who (``actor``), from where (``source``: console,
    cli or system, and the console's ``client`` address), what (``action``, on
    ``subject_kind`` ``subject_key``: a subscriber's id, ``"<list> <period>"``, an
    article's source id, a user's address, a file) and when. Written by the service that
    performs the action, in its transaction; never updated."""

    __tablename__ = "audit_events"
    __table_args__ = (
        CheckConstraint("source IN ('console', 'cli', 'system')", name="source"),
        Index("ix_audit_events_at", "at"),
        Index("ix_audit_events_subject_kind_subject_key_at", "subject_kind", "subject_key", "at"),
        Index("ix_audit_events_actor_at", "actor", "at"),
        Index("ix_audit_events_action_at", "action", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(254))
    source: Mapped[str] = mapped_column(String(16))
    client: Mapped[str] = mapped_column(String(100), default="")
    action: Mapped[str] = mapped_column(String(40))
    subject_kind: Mapped[str] = mapped_column(String(20))
    subject_key: Mapped[str] = mapped_column(String(254))
    detail: Mapped[str] = mapped_column(Text, default="")
