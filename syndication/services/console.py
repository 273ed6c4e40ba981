"""The console's actions on subscribers, each one transaction.

Digest actions live in :mod:`syndication.services.approval`, retracting an article in
:mod:`syndication.services.articles`; these are the rest: unsubscribe, suppress and
restore a subscriber, export subscribers.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime
from io import StringIO

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from syndication.errors import NotFoundError
from syndication.store import bounces, subscribers
from syndication.store import database as db
from syndication.store.models import Subscriber


def _subscriber(session: Session, subscriber_id: int) -> Subscriber:
    found = session.get(Subscriber, subscriber_id, with_for_update=True)
    if found is None:
        raise NotFoundError(f"subscriber {subscriber_id}: no such subscriber")
    return found


def unsubscribe(engine: Engine, subscriber_id: int, now: datetime) -> str:
    """Take a subscriber off every list (as their own unsubscribe link would)."""
    with db.write_session(engine) as session:
        found = _subscriber(session, subscriber_id)
        subscribers.unsubscribe(session, subscriber_id, now)
        return found.email


def suppress(engine: Engine, subscriber_id: int, by: str, now: datetime) -> str:
    """Never mail this address again: on the suppression list, marked unsubscribed."""
    with db.write_session(engine) as session:
        found = _subscriber(session, subscriber_id)
        status = found.status if found.status in ("bounced", "complained") else "unsubscribed"
        subscribers.suppress(session, found.email, f"suppressed by {by}", now, status)
        return found.email


def restore(engine: Engine, subscriber_id: int, now: datetime) -> str:
    """Undo a bounce, complaint or suppression, as ``syndication subscribers restore``
    does (one implementation: :func:`syndication.store.bounces.restore`)."""
    with db.write_session(engine) as session:
        found = _subscriber(session, subscriber_id)
        bounces.restore(session, found.email, now)
        return found.email


def export_csv(engine: Engine) -> Iterator[str]:
    """Every subscriber as CSV (``email,name,lists,status``), a chunk at a time, as
    ``syndication subscribers export`` writes it."""
    buffer = StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*subscribers.CSV_HEADER, "status"])
    with db.read_session(engine) as session:
        for row in subscribers.export_rows(session):
            # The same protection as `subscribers export` (formula cells made inert).
            writer.writerow([subscribers.spreadsheet_safe(v) for v in row])
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue()
