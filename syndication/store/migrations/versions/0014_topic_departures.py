"""Topic departures: the tombstones of articles that left a topic (issue 26 item 3);
room for a whole BCP 47 language tag (35 characters, RFC 5646 section 4.4.1; item 6).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from syndication.store.models import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "topic_departures",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("departed_at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_topic_departures_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["topics.id"],
            name=op.f("fk_topic_departures_topic_id_topics"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", "topic_id", name=op.f("pk_topic_departures")),
    )
    op.create_index(
        "ix_topic_departures_topic_id_departed_at",
        "topic_departures",
        ["topic_id", "departed_at"],
    )
    with op.batch_alter_table("articles") as batch:
        batch.alter_column(
            "language", existing_type=sa.String(20), type_=sa.String(35), existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.alter_column(
            "language", existing_type=sa.String(35), type_=sa.String(20), existing_nullable=False
        )
    op.drop_index("ix_topic_departures_topic_id_departed_at", table_name="topic_departures")
    op.drop_table("topic_departures")
