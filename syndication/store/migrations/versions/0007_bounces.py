"""Bounces and complaints: the intake queue, bounce events, soft-bounce counts (issue 10).

Revision ID: 0007
Revises: 0006 (the lead chains it after 0005/0006 when merging)
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from syndication.store.models import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bounce_intake",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("envelope_sender", sa.String(300), nullable=False),
        sa.Column("envelope_recipients", sa.Text(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("processed_at", UTCDateTime(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "state IN ('queued', 'done', 'ignored')", name=op.f("ck_bounce_intake_state")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bounce_intake")),
    )
    op.create_index("ix_bounce_intake_state_id", "bounce_intake", ["state", "id"])
    op.create_table(
        "bounce_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_key", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status_code", sa.String(16), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("diagnostic", sa.Text(), nullable=False),
        sa.Column("recipient", sa.String(254), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=True),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("digest_id", sa.Integer(), nullable=True),
        sa.Column("effect", sa.Text(), nullable=False),
        sa.Column("report", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_bounce_events_subscriber_id_subscribers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_bounce_events_delivery_id_deliveries"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["digest_id"],
            ["digests.id"],
            name=op.f("fk_bounce_events_digest_id_digests"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bounce_events")),
        sa.UniqueConstraint("report_key", name="uq_bounce_events_report_key"),
    )
    op.create_index("ix_bounce_events_digest_id_kind", "bounce_events", ["digest_id", "kind"])
    op.create_index("ix_bounce_events_subscriber_id", "bounce_events", ["subscriber_id"])
    op.create_table(
        "soft_bounces",
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("digest_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_soft_bounces_subscriber_id_subscribers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["digest_id"],
            ["digests.id"],
            name=op.f("fk_soft_bounces_digest_id_digests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("subscriber_id", "digest_id", name=op.f("pk_soft_bounces")),
    )


def downgrade() -> None:
    op.drop_table("soft_bounces")
    op.drop_index("ix_bounce_events_subscriber_id", table_name="bounce_events")
    op.drop_index("ix_bounce_events_digest_id_kind", table_name="bounce_events")
    op.drop_table("bounce_events")
    op.drop_index("ix_bounce_intake_state_id", table_name="bounce_intake")
    op.drop_table("bounce_intake")
