"""When a transactional mail was settled, so the retention job can prune it.

``transactional_mails.settled_at`` is set when a row reaches a final status (``sent``,
``failed``, ``bounced``, ``skipped``); the daily ``retention`` job deletes rows settled
more than ``[privacy] transactional_mail_days`` ago (they hold e-mail addresses). Rows
settled before this migration get their best known time: ``sent_at`` for a sent row,
``give_up_at`` (no later than they could still have been in the queue) for the others.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from syndication.store.models import UTCDateTime

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("transactional_mails") as batch:
        batch.add_column(sa.Column("settled_at", UTCDateTime(), nullable=True))
    op.execute(
        "UPDATE transactional_mails SET settled_at = COALESCE(sent_at, give_up_at) "
        "WHERE status IN ('sent', 'failed', 'bounced', 'skipped')"
    )
    op.create_index(
        op.f("ix_transactional_mails_settled_at"), "transactional_mails", ["settled_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_transactional_mails_settled_at"), table_name="transactional_mails")
    with op.batch_alter_table("transactional_mails") as batch:
        batch.drop_column("settled_at")
