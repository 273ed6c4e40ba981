"""Click counting (issue 31): a click-counting digest's links, and sums of clicks.

``digest_links`` names each article link of a digest of a list with ``count_clicks``
(what ``/r/<token>`` resolves); ``digest_clicks`` holds per digest and article the
readers' clicks and the scanners' requests, nothing per person.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "digest_links",
        sa.Column("digest_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["digest_id"],
            ["digests.id"],
            name=op.f("fk_digest_links_digest_id_digests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_digest_links_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("digest_id", "position", name=op.f("pk_digest_links")),
    )
    op.create_index(
        op.f("ix_digest_links_article_id"), "digest_links", ["article_id"], unique=False
    )
    op.create_table(
        "digest_clicks",
        sa.Column("digest_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("reader_clicks", sa.BigInteger(), nullable=False),
        sa.Column("scanner_requests", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["digest_id"],
            ["digests.id"],
            name=op.f("fk_digest_clicks_digest_id_digests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_digest_clicks_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("digest_id", "article_id", name=op.f("pk_digest_clicks")),
    )


def downgrade() -> None:
    op.drop_table("digest_clicks")
    op.drop_index(op.f("ix_digest_links_article_id"), table_name="digest_links")
    op.drop_table("digest_links")
