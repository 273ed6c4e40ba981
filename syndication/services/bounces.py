"""Bounce intake, one pipeline for three ways in: SMTP/LMTP, IMAP, files.

Every way in first *stores* the raw report (:func:`accept`, one committed row in
``bounce_intake``) and only then acknowledges it: the SMTP server answers 250, the IMAP
fetch moves the message to the processed folder. :func:`process_pending` then reads each
stored report, finds which copy of our mail it is about, and applies the rules, each
report in one transaction together with marking it done, so a crash at any point leaves
it either untouched (processed at the next start) or completely processed.

Finding the copy, in this order (issue 10):

1. the VERP token in the address the report was sent to (signature checked: a tampered or
   unknown token is logged and ignored, never acted on);
2. the returned message's Message-ID, matched to a delivery we really sent, to the address
   the report names (Message-IDs are keyed, so nobody can guess another reader's);
3. otherwise the report is ignored and logged.

A copy sent more than ``bounces.capability_days`` before the report is processed acts on
nobody (the return path and Message-ID are capabilities over one reader). What the report
does is its reason's action (:mod:`syndication.core.bounce_rules`); the reason and its
evidence are stored with the event. Automatic replies (RFC 3834) are ignored. The same
report arriving twice counts once. :func:`prune_reports` drops raw reports after
``bounces.retention_days``.

The SMTP/LMTP intake keeps reports that name nothing of ours (no VERP token, no
Message-ID we sent) only within ``bounces.strangers_per_hour`` per sending peer and
``bounces.strangers_stored`` held in all (:func:`accept_limited`); the rest are counted
and dropped with a log line. Such a report would change nobody anyway.

Nothing can stall the queue: each report is processed under its own guard, and one whose
reading or applying raises is marked ``failed`` with a one-line error (its transaction
rolled back, so it changed nothing) while the reports behind it go on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from syndication.core import bounce_reasons, bounce_rules, verp
from syndication.core.bounce_mime import read_message
from syndication.core.bounce_reports import BounceReport, parse_report
from syndication.core.intake_limits import StrangerLimits
from syndication.errors import InputError, SyndicationError
from syndication.services.subscribers import restore_address
from syndication.settings import Settings
from syndication.store import bounces as bounce_store
from syndication.store import database as db
from syndication.store import status as status_store
from syndication.store import subscribers

log = logging.getLogger("syndication.bounces")


@dataclass
class ProcessReport:
    """What processing did: reports looked at, acted on, duplicates, ignored, failed
    (their one-line errors in ``errors``), effects; ``rejected`` names the files an
    import did not take (not mail), each with why."""

    processed: int = 0
    applied: int = 0
    duplicates: int = 0
    ignored: int = 0
    failed: int = 0
    effects: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        text = (
            f"{self.processed} reports: {self.applied} applied, {self.duplicates} duplicates, "
            f"{self.ignored} ignored"
        )
        if self.failed:
            text += f", {self.failed} failed"
        if self.rejected:
            text += f"; {len(self.rejected)} files not mail, not imported"
        return text


def require_bounce_address(settings: Settings) -> str:
    if not settings.bounces.address:
        raise SyndicationError(
            f"{settings.source}: bounces.address is not set; set it (e.g. "
            "'bounces@news.example.org') so that mail goes out with a VERP return path"
        )
    return settings.bounces.address


def accept(
    engine: Engine,
    data: bytes,
    *,
    source: str,
    sender: str,
    recipients: Sequence[str],
    now: datetime,
) -> int:
    """Store one report durably (committed when this returns); returns its intake id."""
    with db.write_session(engine) as session:
        return bounce_store.enqueue(
            session, data, source=source, sender=sender, recipients=recipients, now=now
        )


def about_ours(settings: Settings, engine: Engine, data: bytes, recipients: Sequence[str]) -> bool:
    """Whether a report names a copy of ours: a valid VERP token among the envelope
    recipients (checked first, without reading the report), else, read as processing reads
    it, a VERP token or Message-ID of ours (:func:`_resolve`). What cannot be read names
    nothing of ours."""
    base = settings.bounces.address
    for address in recipients:
        token = verp.token_of(base, address) if base else None
        if token is not None and verp.read_token(settings.secret_key, token) is not None:
            return True
    try:
        report = parse_report(read_message(data), recipients)
    except Exception:  # noqa: BLE001 - processing will mark it failed; here it is a stranger's
        return False
    with db.read_session(engine) as session:
        target, _why = _resolve(settings, session, report)
    return target is not None


def accept_limited(
    settings: Settings,
    engine: Engine,
    limits: StrangerLimits,
    data: bytes,
    *,
    source: str,
    sender: str,
    recipients: Sequence[str],
    peer: str,
    now: datetime,
) -> int | None:
    """:func:`accept` for the SMTP/LMTP intake: a report that names nothing of ours
    (:func:`about_ours`) is stored only within ``limits`` (per peer, and in total: see
    :mod:`syndication.core.intake_limits`); over them it is dropped with a log line and
    None is returned. ``limits`` is not thread-safe: the caller serialises calls."""
    if not about_ours(settings, engine, data, recipients):
        with db.read_session(engine) as session:
            held = bounce_store.unmatched_held(session)
        over = limits.admit(peer, held, now)
        if over is not None:
            log.warning(
                "bounce intake: dropped a report from %s that names nothing of ours: %s"
                " (dropped since start: %d per peer, %d over the total)",
                peer or "?",
                over,
                limits.dropped["per-peer"],
                limits.dropped["total"],
            )
            return None
    return accept(engine, data, source=source, sender=sender, recipients=recipients, now=now)


def process_pending(
    settings: Settings, engine: Engine, now: Callable[[], datetime], limit: int | None = None
) -> ProcessReport:
    """Process every stored, unprocessed report (oldest first)."""
    report = ProcessReport()
    while limit is None or report.processed < limit:
        with db.read_session(engine) as session:
            ids = bounce_store.queued_ids(session, 100)
        if not ids:
            break
        for intake_id in ids:
            outcome = process_one(settings, engine, intake_id, now())
            if outcome is None:
                continue
            report.processed += 1
            state, note = outcome
            if state == "done" and note.startswith("duplicate"):
                report.duplicates += 1
            elif state == "done":
                report.applied += 1
                report.effects.append(note)
            elif state == "failed":
                report.failed += 1
                report.errors.append(f"report {intake_id}: {note}")
            else:
                report.ignored += 1
        if len(ids) < 100:
            break
    return report


def process_one(
    settings: Settings, engine: Engine, intake_id: int, now: datetime
) -> tuple[str, str] | None:
    """Process one stored report in one transaction: ``(state, note)``, None if taken.

    If reading or applying it raises, that transaction is rolled back and the report is
    marked ``failed`` with the error on one line (``("failed", error)``): the queue goes
    on without it, and the operator sees it (:func:`intake_health`).
    """
    try:
        with db.write_session(engine) as session:
            stored = bounce_store.claim(session, intake_id)
            if stored is None:
                return None
            parsed = parse_report(read_message(stored.data), stored.recipients)
            state, note = _apply(settings, session, parsed, stored.source, stored.data, now)
            bounce_store.finish(session, intake_id, state, note, now)
    except Exception as exc:  # noqa: BLE001 - one bad report must not stall the others
        error = _one_line(exc)
        with db.write_session(engine) as session:
            if not bounce_store.fail(session, intake_id, error, now):
                return None
        log.warning("bounce report %s failed: %s", intake_id, error)
        return "failed", error
    quiet = parsed.reason == bounce_reasons.VACATION
    level = logging.WARNING if state == "ignored" and not quiet else logging.INFO
    log.log(level, "bounce report %s: %s", intake_id, note)
    return state, note


def _one_line(exc: BaseException) -> str:
    """``ExceptionType: first line of the message``, at most 300 characters."""
    text = " ".join(str(exc).split()) or "(no message)"
    return f"{type(exc).__name__}: {text}"[:300]


def _apply(
    settings: Settings,
    session: Session,
    report: BounceReport,
    source: str,
    data: bytes,
    now: datetime,
) -> tuple[str, str]:
    request = _unsubscribe_request(settings, session, report, now)
    if request is not None:
        return request
    if report.reason == bounce_reasons.VACATION:
        return "ignored", "automatic reply (RFC 3834): not a bounce, ignored"
    target, why = _resolve(settings, session, report)
    if target is None:
        return "ignored", why
    max_age = timedelta(days=settings.bounces.capability_days)
    if bounce_rules.capability_expired(target.sent_at, now, max_age):
        sent = target.sent_at.date().isoformat() if target.sent_at else "?"
        return "ignored", (
            f"{why}, but that copy went out on {sent}, more than "
            f"{settings.bounces.capability_days} days ago (bounces.capability_days): ignored"
        )
    if report.detector == "none":
        return "ignored", f"{why}, but it is not a report we can read"
    # Whom it is about is settled (VERP or our Message-ID); Final-Recipient and the
    # returned headers may name an alias or a list address: evidence, not a veto.
    finding = report.finding
    event = bounce_store.Event(
        report_key=report.report_id,
        source=source,
        kind=bounce_rules.kind_for(finding, report.action),
        verdict=bounce_rules.action_for(finding, report.action),
        reason=report.reason,
        evidence=report.evidence,
        status_code=report.status,
        action=report.action,
        diagnostic=report.diagnostic or report.feedback_type,
        recipient=report.final_recipient or target.email,
        report=data,
    )
    effect = bounce_store.apply_event(session, target, event, settings.bounces.soft_limit, now)
    if effect is None:
        return "done", f"duplicate of a report already recorded ({target.email})"
    return "done", (
        f"{target.email}: {event.kind} {report.status}".rstrip() + f"; {effect} [{report.evidence}]"
    )


def _unsubscribe_request(
    settings: Settings, session: Session, report: BounceReport, now: datetime
) -> tuple[str, str] | None:
    """A mail to a List-Unsubscribe mailto: address (VERP kind ``u``): the reader of that
    delivery leaves its digest's list, as the https one-click would (RFC 8058), whatever
    the mail says. None when the mail is not one (it is then judged as a report)."""
    base = settings.bounces.address
    for address in report.addresses if base else ():
        token = verp.token_of(base, address)
        ref = None if token is None else verp.read_token(settings.secret_key, token)
        if ref is None or ref.kind != verp.UNSUBSCRIBE:
            continue
        found = bounce_store.delivery_list(session, ref.ident)
        if found is None:
            return "ignored", f"unsubscribe request to {address}: no such delivery"
        subscriber_id, email, list_slug = found
        subscribers.unsubscribe(session, subscriber_id, now, list_slug)
        return "done", f"{email}: left {list_slug} by mail (List-Unsubscribe mailto:)"
    return None


def _resolve(
    settings: Settings, session: Session, report: BounceReport
) -> tuple[bounce_store.Target | None, str]:
    base = settings.bounces.address
    if base:
        for address in report.addresses:
            token = verp.token_of(base, address)
            if token is None:
                continue
            ref = verp.read_token(settings.secret_key, token)
            if ref is None:
                return None, f"VERP token in {address} is not ours (tampered or foreign): ignored"
            if ref.kind == verp.DELIVERY:
                target = bounce_store.delivery_target(session, ref.ident)
            else:
                target = bounce_store.subscriber_target(session, ref.ident)
            if target is None:
                return None, f"VERP token in {address} names nothing in the store: ignored"
            return target, f"matched by VERP ({target.email})"
    target = bounce_store.message_id_target(
        session, report.original_message_id, report.final_recipient
    )
    if target is not None:
        return target, f"matched by Message-ID ({target.email})"
    if report.original_message_id:
        return None, (
            f"Message-ID {report.original_message_id} is not one we sent"
            + (f" to {report.final_recipient}" if report.final_recipient else "")
            + ": ignored"
        )
    return None, "no VERP token and no Message-ID of ours: ignored"


# -- the ways in -------------------------------------------------------------------------


def import_paths(
    settings: Settings, engine: Engine, paths: Sequence[Path], now: Callable[[], datetime]
) -> ProcessReport:
    """``.eml`` files, mbox files and Maildir folders: read all, store all, process.

    Each file (each message of an mbox) is judged alone: one that is not mail is left
    out and named in :attr:`ProcessReport.rejected`, the others are imported. When no
    path holds any mail at all nothing is stored and the error names the first file
    (``NotMailError``, exit 1); an unreadable path is an :class:`InputError` (exit 2).
    """
    from syndication.edges.mail_files import NotMailError, read_mail

    messages: list[bytes] = []
    rejected: list[str] = []
    for path in paths:
        found = read_mail(path)
        messages.extend(found.messages)
        rejected.extend(found.rejected)
    if not messages:
        if rejected:
            raise NotMailError(rejected[0])
        raise InputError(f"{', '.join(str(p) for p in paths)}: no messages found")
    with db.write_session(engine) as session:
        for data in messages:
            bounce_store.enqueue(
                session, data, source="import", sender="", recipients=(), now=now()
            )
    report = process_pending(settings, engine, now)
    report.rejected.extend(rejected)
    return report


@dataclass(frozen=True)
class FetchReport:
    """Messages taken from the mailbox (moved to the processed folder), how many of them
    were strangers' reports not stored (over ``bounces.strangers_stored``), and what
    processing did."""

    fetched: int
    processed: ProcessReport
    dropped: int = 0

    @property
    def summary(self) -> str:
        dropped = f" ({self.dropped} strangers' reports over the limit, not stored)"
        return f"fetched {self.fetched}{dropped if self.dropped else ''}; {self.processed.summary}"


def fetch_imap(settings: Settings, engine: Engine, now: Callable[[], datetime]) -> FetchReport:
    """Fetch the bounce mailbox over IMAP: store each message, then move it, then process.

    Anyone can mail the bounce address, so a message that names nothing of ours is
    stored only within ``bounces.strangers_stored`` held in all, as at the SMTP/LMTP
    intake (a mailbox has no connecting peer, so only the total bound applies); over it,
    it is moved without being stored (the mailbox keeps it) and counted."""
    from syndication.edges.imap_fetch import ImapMailbox

    imap = settings.bounces.imap
    if imap is None:
        raise SyndicationError(f"{settings.source}: [bounces.imap] is not set")
    held = settings.bounces.strangers_stored
    limits = StrangerLimits(per_peer=held, window=timedelta(hours=1), max_stored=held)
    fetched = dropped = 0
    with ImapMailbox(imap) as mailbox:
        for uid, data in mailbox.messages():
            stored = accept_limited(
                settings,
                engine,
                limits,
                data,
                source="imap",
                sender="",
                recipients=(),
                peer="the IMAP mailbox",
                now=now(),
            )
            # Stored and committed above (or refused): only now may it leave the folder.
            mailbox.move_processed(uid)
            fetched += 1
            dropped += stored is None
    return FetchReport(fetched, process_pending(settings, engine, now), dropped)


def serve(
    settings: Settings,
    engine: Engine,
    *,
    host: str,
    port: int,
    lmtp: bool,
    now: Callable[[], datetime],
    stop: threading.Event,
    on_ready: Callable[[str, int], None] = lambda _h, _p: None,
) -> None:
    """Run the SMTP/LMTP intake until ``stop``; a worker thread processes what it stores.

    What an earlier run stored but did not process is processed first.
    """
    from syndication.edges.bounce_intake import IntakeServer

    base = require_bounce_address(settings)
    wake = threading.Event()

    limits = StrangerLimits(
        per_peer=settings.bounces.strangers_per_hour,
        window=timedelta(hours=1),
        max_stored=settings.bounces.strangers_stored,
    )
    admitting = threading.Lock()  # the executor runs stores in several threads

    def store(data: bytes, sender: str, recipients: list[str], peer: str) -> int | None:
        with admitting:
            return accept_limited(
                settings,
                engine,
                limits,
                data,
                source="lmtp" if lmtp else "smtp",
                sender=sender,
                recipients=recipients,
                peer=peer,
                now=now(),
            )

    def work() -> None:
        while not stop.is_set():
            try:
                process_pending(settings, engine, now)
            except Exception:  # noqa: BLE001 - keep serving; the report stays queued
                log.exception("processing bounce reports failed; will retry")
            wake.wait(5.0)
            wake.clear()

    worker = threading.Thread(target=work, name="bounce-processor", daemon=True)
    worker.start()
    server = IntakeServer(
        base,
        store,
        lambda _id: wake.set(),
        lmtp=lmtp,
        max_bytes=settings.bounces.max_message_bytes,
        hostname=settings.site.domain,
    )
    try:
        server.run(host, port, stop, on_ready)
    finally:
        stop.set()
        wake.set()
        worker.join(timeout=30)


def restore_subscriber(engine: Engine, email_address: str, now: datetime) -> str:
    """Undo a bounce or complaint for one address; returns the new status (the lifecycle
    table's restore, as :func:`syndication.services.subscribers.restore_address`)."""
    return restore_address(engine, email_address, now)


def intake_backlog(engine: Engine) -> int:
    """Reports stored and not yet processed."""
    with db.read_session(engine) as session:
        return status_store.intake_backlog(session.connection())


def prune_reports(settings: Settings, engine: Engine, now: datetime) -> bounce_store.Pruned:
    """Remove raw reports older than ``bounces.retention_days`` (events and verdicts kept).

    The scheduler's daily job: stored reports are what a stranger can make us keep (up to
    ``max_message_bytes`` each), so they do not stay forever.
    """
    before = now - timedelta(days=settings.bounces.retention_days)
    with db.write_session(engine) as session:
        pruned = bounce_store.prune_reports(session, before)
    log.info(
        "pruned bounce reports before %s: %d intake rows deleted, %d emptied, %d events emptied",
        before.isoformat(),
        pruned.intake_deleted,
        pruned.intake_emptied,
        pruned.events_emptied,
    )
    return pruned


@dataclass(frozen=True)
class IntakeHealth:
    """What ``status``, ``/healthz``, the console and ``/metrics`` show of the intake.

    ``backlog``: reports queued; ``oldest_queued_at``: when the oldest of them arrived
    (None: none queued; a backlog that keeps its oldest report means processing is not
    running); ``failed``: reports whose processing raised, ``recent_failures`` the newest
    of them with their one-line errors; ``reasons``: events by reason since ``since``
    (``undefined``, the reports read as nothing certain, counted apart).
    """

    backlog: int
    oldest_queued_at: datetime | None
    failed: int
    recent_failures: list[bounce_store.FailedReport]
    reasons: dict[str, int]

    @property
    def undefined(self) -> int:
        return self.reasons.get(bounce_reasons.UNDEFINED, 0)


def intake_health(engine: Engine, since: datetime | None = None, failures: int = 5) -> IntakeHealth:
    """The intake's state for the operator's surfaces (see :class:`IntakeHealth`)."""
    with db.read_session(engine) as session:
        return IntakeHealth(
            backlog=status_store.intake_backlog(session.connection()),
            oldest_queued_at=bounce_store.oldest_queued_at(session),
            failed=bounce_store.failed_count(session),
            recent_failures=bounce_store.failed_reports(session, failures),
            reasons=status_store.reason_counts(session.connection(), since),
        )
