"""Issue 14: an article's id date is kept forever; a delivery's claim carries a token.

``articles.id_date`` is the UTC date written into the article's tag URI (RFC 4151). It is
minted from ``published_at`` when the article first arrives and never changes, so a
newsroom correcting a publication time does not make readers see a new article. Existing
rows are backfilled from ``published_at``, which is what their ids were made of so far.

``deliveries.claim_token`` is unique per claim: a sender renews, sends and settles only
rows whose token is still its own, so a row whose lease ran out and was claimed by another
sender is left to that sender.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("id_date", sa.String(10), nullable=False, server_default=""))
    # One statement, whatever the size of the store. SQLite keeps naive UTC text
    # ("2026-11-20 01:00:00.000000", see models.UTCDateTime); PostgreSQL a timestamptz.
    if op.get_bind().dialect.name == "postgresql":
        day = "to_char(published_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    else:
        day = "substr(published_at, 1, 10)"
    op.execute(f"UPDATE articles SET id_date = {day}")
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("claim_token", sa.String(64), nullable=False, server_default=""))
        batch.create_index("ix_deliveries_claim_token", ["claim_token"])


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_index("ix_deliveries_claim_token")
        batch.drop_column("claim_token")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("id_date")
