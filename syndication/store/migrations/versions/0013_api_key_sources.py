"""Scoped API keys (issue 27 item 7): the source a key may write, NULL for any source.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

Keys made before this revision get NULL: they keep working as they did, for any source,
until the operator revokes them and makes scoped ones (README "Push API").
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("source", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("source")
