"""Bounce intake: a report whose processing raised is ``failed`` (issue 25).

A report that raises is taken out of the queue with its one-line error instead of staying
``queued`` (where it stalled every report behind it).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bounce_intake") as batch:
        batch.drop_constraint(op.f("ck_bounce_intake_state"), type_="check")
        batch.create_check_constraint(
            op.f("ck_bounce_intake_state"), "state IN ('queued', 'done', 'ignored', 'failed')"
        )


def downgrade() -> None:
    op.execute("UPDATE bounce_intake SET state = 'ignored' WHERE state = 'failed'")
    with op.batch_alter_table("bounce_intake") as batch:
        batch.drop_constraint(op.f("ck_bounce_intake_state"), type_="check")
        batch.create_check_constraint(
            op.f("ck_bounce_intake_state"), "state IN ('queued', 'done', 'ignored')"
        )
