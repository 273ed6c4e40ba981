"""Transactional mails: confirmations and test sends queued and retried like digests
(issue 29 item 4).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from syndication.store.models import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "transactional_mails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=True),
        sa.Column("digest_id", sa.Integer(), nullable=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("request", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("give_up_at", UTCDateTime(), nullable=False),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(100), nullable=False),
        sa.Column("claim_token", sa.String(64), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("message_id", sa.String(300), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("kind IN ('confirm', 'test')", name=op.f("ck_transactional_mails_kind")),
        sa.CheckConstraint(
            "status IN ('queued', 'sending', 'sent', 'failed', 'bounced', 'skipped')",
            name=op.f("ck_transactional_mails_status"),
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_transactional_mails_subscriber_id_subscribers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["digest_id"],
            ["digests.id"],
            name=op.f("fk_transactional_mails_digest_id_digests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transactional_mails")),
    )
    op.create_index(
        "ix_transactional_mails_status_next_attempt_at",
        "transactional_mails",
        ["status", "next_attempt_at"],
    )
    op.create_index(
        "ix_transactional_mails_subscriber_id_created_at",
        "transactional_mails",
        ["subscriber_id", "created_at"],
    )
    op.create_index(
        op.f("ix_transactional_mails_claim_token"), "transactional_mails", ["claim_token"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_transactional_mails_claim_token"), table_name="transactional_mails")
    op.drop_index(
        "ix_transactional_mails_subscriber_id_created_at", table_name="transactional_mails"
    )
    op.drop_index("ix_transactional_mails_status_next_attempt_at", table_name="transactional_mails")
    op.drop_table("transactional_mails")
