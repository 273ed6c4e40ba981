"""One story, one article across sources (issue 27 item 6): aliases and a URL index.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from syndication.store.models import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "article_aliases",
        sa.Column("source_id", sa.String(200), nullable=False),
        sa.Column("article_source_id", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("source_id", name=op.f("pk_article_aliases")),
    )
    op.create_index(
        op.f("ix_article_aliases_article_source_id"),
        "article_aliases",
        ["article_source_id"],
    )
    op.create_index("ix_articles_url", "articles", ["url"], postgresql_using="hash")


def downgrade() -> None:
    op.drop_index("ix_articles_url", table_name="articles")
    op.drop_index(op.f("ix_article_aliases_article_source_id"), table_name="article_aliases")
    op.drop_table("article_aliases")
