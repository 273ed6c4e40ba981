"""The ORM classes, mapped onto the Core tables of :mod:`syndication.store.tables`
("declarative with imperative table"): the schema, its types and constants are declared
there once; this module adds the classes, their typed attributes and relationships.
Alembic owns the schema's evolution (``Base.metadata`` is :data:`tables.metadata`).

The read-only status path (``status``, ``/healthz``, ``/metrics``) uses the tables and
never imports this module, which loads ``sqlalchemy.orm`` and maps every class (issue 24).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import DeclarativeBase, Mapped, relationship

from syndication.store import tables
from syndication.store.tables import ARTICLE_CHANGES as ARTICLE_CHANGES
from syndication.store.tables import BOUNCE_KINDS as BOUNCE_KINDS
from syndication.store.tables import DELIVERY_STATUSES as DELIVERY_STATUSES
from syndication.store.tables import DIGEST_STATES as DIGEST_STATES
from syndication.store.tables import ERASURE_REASONS as ERASURE_REASONS
from syndication.store.tables import FEEDS_BUILT as FEEDS_BUILT
from syndication.store.tables import MAIL_KINDS as MAIL_KINDS
from syndication.store.tables import NAMING_CONVENTION as NAMING_CONVENTION
from syndication.store.tables import POSTGRESQL_SEARCH_INDEXES as POSTGRESQL_SEARCH_INDEXES
from syndication.store.tables import SENDABLE_DIGEST_STATES as SENDABLE_DIGEST_STATES
from syndication.store.tables import SUBSCRIBER_STATUSES as SUBSCRIBER_STATUSES
from syndication.store.tables import USER_ROLES as USER_ROLES
from syndication.store.tables import UTCDateTime as UTCDateTime
from syndication.store.tables import article_topics as article_topics
from syndication.store.tables import in_models as in_models


class Base(DeclarativeBase):
    metadata = tables.metadata


class Counter(Base):
    """Named monotonic numbers: the article change sequence and consumers' watermarks."""

    __table__ = tables.counters

    name: Mapped[str]
    value: Mapped[int]


class TopicRow(Base):
    """A topic as stored (the configured one is :class:`syndication.settings.Topic`)."""

    __table__ = tables.topics

    id: Mapped[int]
    slug: Mapped[str]
    name: Mapped[str]
    description: Mapped[str]
    change_seq: Mapped[int]


class Article(Base):
    __table__ = tables.articles

    id: Mapped[int]
    source_id: Mapped[str]
    title: Mapped[str]
    summary: Mapped[str]
    body_html: Mapped[str]
    url: Mapped[str]
    author: Mapped[str]
    image_url: Mapped[str]
    # A BCP 47 tag (core.language_tags); RFC 5646 section 4.4.1 asks for room for 35.
    language: Mapped[str]
    published_at: Mapped[datetime]
    # The UTC date (YYYY-MM-DD) in the article's tag URI, set on first insert from
    # published_at and never updated: correcting published_at must not change the id.
    id_date: Mapped[str]
    updated_at: Mapped[datetime]
    status: Mapped[str]
    retracted_at: Mapped[datetime | None]
    retraction_reason: Mapped[str]
    content_hash: Mapped[str]
    change_seq: Mapped[int]
    # The source id this article translates, as the newsroom gave it ("" for an
    # original); it may name an article that has not arrived yet (core.translations).
    translation_of: Mapped[str]

    topics: Mapped[list[TopicRow]] = relationship(secondary=article_topics, lazy="raise")


class TopicDeparture(Base):
    """An article that left a topic it was in (issue 26 item 3).

    The topic's Atom feed and the archive of the article's month keep an RFC 6721
    tombstone for it, as for a retraction: a partner mirroring that topic learns the
    entry is gone from it. ``departed_at`` is the ``updated_at`` of the write that took
    the article out; ``reason`` the tombstone's comment ("moved to Economy"). The row is
    removed when the article comes back to the topic.
    """

    __table__ = tables.topic_departures

    article_id: Mapped[int]
    topic_id: Mapped[int]
    departed_at: Mapped[datetime]
    reason: Mapped[str]


# -- subscribers and the outbox ---------------------------------------------------------
#
# Mailing lists live in the settings, so rows refer to them by slug. A digest is unique per
# (list, period) and a delivery per (digest, subscriber): compiling twice adds nothing, and
# no subscriber can be queued twice for one digest.


class Subscriber(Base):
    __table__ = tables.subscribers

    id: Mapped[int]
    email: Mapped[str]
    name: Mapped[str]
    locale: Mapped[str]
    status: Mapped[str]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    # The pending sign-up request a confirmation link is for: a random nonce, renewed
    # whenever the request changes (new lists, new name, re-subscribed) and cleared when
    # the subscriber leaves. Confirmation tokens carry it, so a link confirms exactly the
    # request it was mailed for (issue 15 item 3).
    request_nonce: Mapped[str | None]


class Subscription(Base):
    __table__ = tables.subscriptions

    subscriber_id: Mapped[int]
    list_slug: Mapped[str]
    created_at: Mapped[datetime]


class Suppression(Base):
    """Addresses that must never be mailed again (hard bounce, complaint, operator)."""

    __table__ = tables.suppressions

    email: Mapped[str]
    reason: Mapped[str]
    created_at: Mapped[datetime]


class Digest(Base):
    """One list's digest for one period, rendered and CSS-inlined once."""

    __table__ = tables.digests

    id: Mapped[int]
    list_slug: Mapped[str]
    period_key: Mapped[str]
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    subject: Mapped[str]
    preheader: Mapped[str]
    html: Mapped[str]
    text: Mapped[str]
    article_count: Mapped[int]
    created_at: Mapped[datetime]


class DigestLanguage(Base):
    """A "reader" list's digest in one more language than the primary (issue 30): rendered
    and inlined once per list, period and language; its readers are spliced into it."""

    __table__ = tables.digest_languages

    digest_id: Mapped[int]
    language: Mapped[str]
    subject: Mapped[str]
    preheader: Mapped[str]
    html: Mapped[str]
    text: Mapped[str]


class DigestLink(Base):
    """An article link of a click-counting digest (issue 31): what ``/r/<token>`` names.

    ``url`` is the link as the digest was rendered with it (what the sender rewrites);
    the redirect goes to the article's current URL, read from ``articles``."""

    __table__ = tables.digest_links

    digest_id: Mapped[int]
    position: Mapped[int]
    article_id: Mapped[int]
    url: Mapped[str]


class DigestClicks(Base):
    """Sums per digest and article: readers' clicks and scanners' requests (issue 31).

    Aggregates only, by design: no subscriber, copy, address, time or agent is kept per
    click (tests/store/test_clicks.py checks the columns)."""

    __table__ = tables.digest_clicks

    digest_id: Mapped[int]
    article_id: Mapped[int]
    reader_clicks: Mapped[int]
    scanner_requests: Mapped[int]


class Delivery(Base):
    """One digest to one subscriber: the outbox row that senders claim with a lease."""

    __table__ = tables.deliveries

    id: Mapped[int]
    digest_id: Mapped[int]
    subscriber_id: Mapped[int]
    status: Mapped[str]
    attempts: Mapped[int]
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    claimed_by: Mapped[str]
    # Unique per claim: renew, send and settle touch only rows whose token is still ours.
    claim_token: Mapped[str]
    last_error: Mapped[str]
    message_id: Mapped[str]
    sent_at: Mapped[datetime | None]


class TransactionalMail(Base):
    """One mail a person is waiting for: a double opt-in confirmation or an operator's
    test send. The outbox row of :mod:`syndication.store.mail_outbox`, claimed, renewed
    and settled like a :class:`Delivery`.

    The message is built when it is sent, from what the row names: the subscriber and the
    sign-up ``request`` (the nonce its confirmation link is bound to) or the digest, the
    ``email`` a test goes to and in ``request`` the language of the copy tested ("" the
    main one: a "reader" list's digest has one per language), with links and Message-ID
    issued at ``created_at``, so a retried message is the same message. ``give_up_at``
    bounds how long it is retried; ``settled_at`` (set with a final status) is what
    retention prunes by.
    """

    __table__ = tables.transactional_mails

    id: Mapped[int]
    kind: Mapped[str]
    subscriber_id: Mapped[int | None]
    digest_id: Mapped[int | None]
    email: Mapped[str]
    request: Mapped[str]
    status: Mapped[str]
    attempts: Mapped[int]
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    give_up_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    claimed_by: Mapped[str]
    claim_token: Mapped[str]
    last_error: Mapped[str]
    message_id: Mapped[str]
    sent_at: Mapped[datetime | None]
    settled_at: Mapped[datetime | None]


class JobRun(Base):
    """One run of a scheduled job and what came of it; ``syndication status`` shows the last.

    A catch-up digest the scheduler decided not to send (too late) is recorded here too,
    with ``skipped`` set, so that an operator sees it rather than wondering.
    """

    __table__ = tables.job_runs

    id: Mapped[int]
    job_id: Mapped[str]
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    ok: Mapped[bool]
    skipped: Mapped[bool]
    summary: Mapped[str]
    error: Mapped[str]


# -- sources and the push API (issue 11) --------------------------------------------------


class SourceState(Base):
    """What the ``sources`` job remembers of one upstream between polls.

    ``cursor`` is the kind's own position (WordPress: the newest ``modified_gmt`` stored)
    and ``memo`` (JSON) the ETag/Last-Modified of the last answers and what the kind caches
    (WordPress: category slugs); both are
    written in the transaction that stored the articles they cover. ``failures`` and
    ``next_attempt_at`` are the scheduler's back-off.
    """

    __table__ = tables.source_states

    name: Mapped[str]
    kind: Mapped[str]
    cursor: Mapped[str]
    memo: Mapped[str]
    last_poll_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_full_at: Mapped[datetime | None]
    last_result: Mapped[str]
    last_error: Mapped[str]
    failures: Mapped[int]
    next_attempt_at: Mapped[datetime | None]


class ArticleAlias(Base):
    """An upstream item recorded as another name of an article already stored from another
    source (the same story in a site feed and its category feeds): ``source_id`` is the id
    the item would have had, ``article_source_id`` the article it is (issue 27 item 6)."""

    __table__ = tables.article_aliases

    source_id: Mapped[str]
    article_source_id: Mapped[str]
    created_at: Mapped[datetime]


class ApiKey(Base):
    """A key a CMS pushes articles with; only its SHA-256 is stored (see store/api_keys.py)."""

    __table__ = tables.api_keys

    id: Mapped[int]
    name: Mapped[str]
    key_hash: Mapped[str]
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    # The one source whose articles (ids "<source>:…") the key may write and retract;
    # NULL: any article (--any-source, and every key made before issue 27).
    source: Mapped[str | None]


class RateLimit(Base):
    """A rate shared by every process on the database: the earliest time (epoch seconds)
    the next event may happen. ``mail.smtp.rate_per_second`` is a limit of the service,
    not of one sender, so senders on several machines take their slots from this row."""

    __table__ = tables.rate_limits

    name: Mapped[str]
    next_at: Mapped[float]


# -- bounces and complaints (issue 10) ---------------------------------------------------
#
# Every report that arrives is first written to ``bounce_intake`` (before the SMTP server
# answers 250, or before an IMAP message is moved), then processed. What processing
# decided is a ``bounce_events`` row, unique per report, with its evidence.


class BounceIntake(Base):
    """A report as it arrived (compressed), until processed: the intake's durable queue.

    ``state``: ``queued`` until processed, then ``done`` (an event recorded), ``ignored``
    (about nobody of ours, or not a report) or ``failed`` (reading it raised; ``note`` holds
    the one-line error, and the queue goes on without it).
    """

    __table__ = tables.bounce_intake

    id: Mapped[int]
    received_at: Mapped[datetime]
    source: Mapped[str]
    envelope_sender: Mapped[str]
    envelope_recipients: Mapped[str]
    data: Mapped[bytes]
    state: Mapped[str]
    processed_at: Mapped[datetime | None]
    note: Mapped[str]


class BounceEvent(Base):
    """One decision about one report (or one synchronous SMTP refusal), with its evidence."""

    __table__ = tables.bounce_events

    id: Mapped[int]
    report_key: Mapped[str]
    created_at: Mapped[datetime]
    source: Mapped[str]
    kind: Mapped[str]
    # Why (core/bounce_reasons.REASONS) and the field, code or phrase that decided it.
    reason: Mapped[str]
    evidence: Mapped[str]
    status_code: Mapped[str]
    action: Mapped[str]
    diagnostic: Mapped[str]
    recipient: Mapped[str]
    subscriber_id: Mapped[int | None]
    delivery_id: Mapped[int | None]
    digest_id: Mapped[int | None]
    effect: Mapped[str]
    report: Mapped[bytes]


class SoftBounce(Base):
    """A digest that soft-bounced for a subscriber: counted once per (subscriber, digest)."""

    __table__ = tables.soft_bounces

    subscriber_id: Mapped[int]
    digest_id: Mapped[int]
    created_at: Mapped[datetime]


# -- the operator console (issue 12) ------------------------------------------------------
#
# A digest's ``state`` says whether senders may take its deliveries: ``ready`` (an
# automatic list's digest) and ``approved`` go out; ``held`` (compiled for a list with
# manual approval, or stopped by an operator) and ``cancelled`` do not. The delivery rows
# keep their own status, so holding and resuming is exact: what went is ``sent``, the rest
# stays ``queued`` until the digest may go again.


class DigestState(Base):
    """Who may send a digest, and who last decided so (one row per digest that has one).

    Kept beside ``digests`` rather than in it so that a digest without a row is ``ready``:
    everything compiled before the console existed keeps going out as it did.
    """

    __table__ = tables.digest_states

    digest_id: Mapped[int]
    state: Mapped[str]
    changed_at: Mapped[datetime]
    changed_by: Mapped[str]
    approved_at: Mapped[datetime | None]
    approved_by: Mapped[str]


class User(Base):
    """Someone who may sign in to the console: an ``operator`` acts, a ``viewer`` looks."""

    __table__ = tables.users

    id: Mapped[int]
    email: Mapped[str]
    role: Mapped[str]
    password_hash: Mapped[str]
    created_at: Mapped[datetime]
    password_changed_at: Mapped[datetime]


class UserSession(Base):
    """A signed-in browser. The cookie holds a random id; the row holds only its SHA-256,
    so a copy of the database does not let anyone sign in. Deleting the row ends it."""

    __table__ = tables.user_sessions

    id_hash: Mapped[str]
    user_id: Mapped[int]
    csrf_token: Mapped[str]
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class LoginFailure(Base):
    """A failed sign-in, by address and client, kept for the lockout window."""

    __table__ = tables.login_failures

    id: Mapped[int]
    email: Mapped[str]
    client: Mapped[str]
    at: Mapped[datetime]


# -- privacy (issue 29 item 8) ------------------------------------------------------------
#
# What the law asks us to be able to show and to forget. A consent record says how one
# sign-up request came (the form, the command line, an import), what it asked for and how
# it was confirmed; it goes with its subscriber. An erased or expired address leaves only
# a keyed hash (HMAC-SHA256 with the service key, core/privacy.py): enough to refuse it
# when it is typed again, not enough to list who it was without the key.


class ConsentRecord(Base):
    """One sign-up request of a subscriber and its confirmation, as evidence of consent.

    ``method``: ``web form``, ``command line``, ``import``, ``api`` or ``preferences
    link``; ``origin`` the form's address, the file or the operator; ``request_nonce`` the
    request a confirmation link is bound to (subscribers.request_nonce); ``client_ip`` the
    web client's address when the form was used. ``confirmed_at`` and ``confirmation``
    (how) are set when the request was confirmed, or at once when an operator attests it.
    """

    __table__ = tables.consent_records

    id: Mapped[int]
    subscriber_id: Mapped[int]
    requested_at: Mapped[datetime]
    method: Mapped[str]
    origin: Mapped[str]
    lists: Mapped[str]
    client_ip: Mapped[str]
    request_nonce: Mapped[str]
    confirmed_at: Mapped[datetime | None]
    confirmation: Mapped[str]


class ErasedAddress(Base):
    """An address we hold no record of and must not take back: its keyed hash only.

    ``reason``: ``erased`` (``subscribers erase``, at the person's request),
    ``unsubscribed`` (an unsubscribed record deleted after ``privacy.unsubscribed_days``)
    or ``suppressed`` (the same, for an address that was on the suppression list).
    """

    __table__ = tables.erased_addresses

    address_hash: Mapped[str]
    reason: Mapped[str]
    created_at: Mapped[datetime]


class AuditEvent(Base):
    """One operator action (issue 28): who (``actor``), from where (``source``: console,
    cli or system, and the console's ``client`` address), what (``action``, on
    ``subject_kind`` ``subject_key``: a subscriber's id, ``"<list> <period>"``, an
    article's source id, a user's address, a file) and when. Written by the service that
    performs the action, in its transaction; never updated."""

    __table__ = tables.audit_events

    id: Mapped[int]
    at: Mapped[datetime]
    actor: Mapped[str]
    source: Mapped[str]
    client: Mapped[str]
    action: Mapped[str]
    subject_kind: Mapped[str]
    subject_key: Mapped[str]
    detail: Mapped[str]
