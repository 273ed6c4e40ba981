"""The news store: topics, articles, their link, and the change counter.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from syndication.store.models import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    counters = op.create_table(
        "counters",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_counters")),
    )
    op.bulk_insert(counters, [{"name": "article_changes", "value": 0}])
    op.create_table(
        "topics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topics")),
        sa.UniqueConstraint("slug", name=op.f("uq_topics_slug")),
    )
    op.create_index(op.f("ix_topics_change_seq"), "topics", ["change_seq"])
    op.create_table(
        "articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.String(200), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("author", sa.String(300), nullable=False),
        sa.Column("image_url", sa.Text(), nullable=False),
        sa.Column("language", sa.String(20), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("retracted_at", UTCDateTime(), nullable=True),
        sa.Column("retraction_reason", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("status IN ('published', 'retracted')", name=op.f("ck_articles_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_articles")),
        sa.UniqueConstraint("source_id", name=op.f("uq_articles_source_id")),
    )
    op.create_index(op.f("ix_articles_change_seq"), "articles", ["change_seq"])
    op.create_index("ix_articles_published_at", "articles", ["published_at"])
    op.create_index("ix_articles_updated_at", "articles", ["updated_at"])
    op.create_table(
        "article_topics",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            ondelete="CASCADE",
            name=op.f("fk_article_topics_article_id_articles"),
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["topics.id"],
            ondelete="CASCADE",
            name=op.f("fk_article_topics_topic_id_topics"),
        ),
        sa.PrimaryKeyConstraint("article_id", "topic_id", name=op.f("pk_article_topics")),
    )
    op.create_index("ix_article_topics_topic_id", "article_topics", ["topic_id"])


def downgrade() -> None:
    op.drop_index("ix_article_topics_topic_id", table_name="article_topics")
    op.drop_table("article_topics")
    op.drop_index("ix_articles_updated_at", table_name="articles")
    op.drop_index("ix_articles_published_at", table_name="articles")
    op.drop_index(op.f("ix_articles_change_seq"), table_name="articles")
    op.drop_table("articles")
    op.drop_index(op.f("ix_topics_change_seq"), table_name="topics")
    op.drop_table("topics")
    op.drop_table("counters")
