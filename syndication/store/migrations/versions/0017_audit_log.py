"""The audit log of operator actions, and the subscribers page at newsroom scale (issue 28):
indexes for its filters, and trigram indexes (pg_trgm) for its search on PostgreSQL.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from syndication.store.models import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(254), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("client", sa.String(100), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("subject_kind", sa.String(20), nullable=False),
        sa.Column("subject_key", sa.String(254), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "source IN ('console', 'cli', 'system')", name=op.f("ck_audit_events_source")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at"])
    op.create_index(
        "ix_audit_events_subject_kind_subject_key_at",
        "audit_events",
        ["subject_kind", "subject_key", "at"],
    )
    op.create_index("ix_audit_events_actor_at", "audit_events", ["actor", "at"])
    op.create_index("ix_audit_events_action_at", "audit_events", ["action", "at"])
    op.create_index("ix_subscribers_status_email", "subscribers", ["status", "email"])
    op.create_index("ix_subscribers_created_at", "subscribers", ["created_at"])
    if op.get_bind().dialect.name == "postgresql":
        # pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create
        # it without being a superuser.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for column in ("email", "name"):
            op.create_index(
                f"ix_subscribers_{column}_trgm",
                "subscribers",
                [column],
                postgresql_using="gin",
                postgresql_ops={column: "gin_trgm_ops"},
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for column in ("email", "name"):
            op.drop_index(f"ix_subscribers_{column}_trgm", table_name="subscribers")
    op.drop_index("ix_subscribers_created_at", table_name="subscribers")
    op.drop_index("ix_subscribers_status_email", table_name="subscribers")
    op.drop_index("ix_audit_events_action_at", table_name="audit_events")
    op.drop_index("ix_audit_events_actor_at", table_name="audit_events")
    op.drop_index("ix_audit_events_subject_kind_subject_key_at", table_name="audit_events")
    op.drop_index("ix_audit_events_at", table_name="audit_events")
    op.drop_table("audit_events")
