"""Privacy (issue 29 item 8): consent records, and the keyed hashes of erased addresses.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07

Subscribers from before this revision have no consent record: the console says so and
shows what the subscriber row holds (signed up, confirmed).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from syndication.store.models import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("lists", sa.Text(), nullable=False),
        sa.Column("client_ip", sa.String(64), nullable=False),
        sa.Column("request_nonce", sa.String(32), nullable=False),
        sa.Column("confirmed_at", UTCDateTime(), nullable=True),
        sa.Column("confirmation", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name=op.f("fk_consent_records_subscriber_id_subscribers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_records")),
    )
    op.create_index("ix_consent_records_subscriber_id", "consent_records", ["subscriber_id"])
    op.create_table(
        "erased_addresses",
        sa.Column("address_hash", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "reason IN ('erased', 'unsubscribed', 'suppressed')",
            name=op.f("ck_erased_addresses_reason"),
        ),
        sa.PrimaryKeyConstraint("address_hash", name=op.f("pk_erased_addresses")),
    )


def downgrade() -> None:
    op.drop_table("erased_addresses")
    op.drop_index("ix_consent_records_subscriber_id", table_name="consent_records")
    op.drop_table("consent_records")
