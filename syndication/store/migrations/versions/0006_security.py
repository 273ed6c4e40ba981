"""Issue 15: confirmation links bound to one sign-up request; a shared SMTP rate.

``subscribers.request_nonce`` names the pending request a confirmation link was mailed
for. ``rate_limits`` holds the next free slot of a rate every sender process shares.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.add_column(sa.Column("request_nonce", sa.String(32), nullable=True))
    op.create_table(
        "rate_limits",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_rate_limits")),
    )


def downgrade() -> None:
    op.drop_table("rate_limits")
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_column("request_nonce")
