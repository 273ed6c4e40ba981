"""Bounce events keep their reason and the evidence that decided it (issue 25).

``reason`` is one of ``core/bounce_reasons.REASONS`` (empty for events recorded before);
``evidence`` one line naming the field, code or phrase.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bounce_events") as batch:
        batch.add_column(sa.Column("reason", sa.String(32), nullable=False, server_default=""))
        batch.add_column(sa.Column("evidence", sa.Text(), nullable=False, server_default=""))
    op.create_index("ix_bounce_events_reason_created_at", "bounce_events", ["reason", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_bounce_events_reason_created_at", table_name="bounce_events")
    with op.batch_alter_table("bounce_events") as batch:
        batch.drop_column("evidence")
        batch.drop_column("reason")
