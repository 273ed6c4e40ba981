"""Translations: an article names the story it translates (issue 30).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(
            sa.Column("translation_of", sa.String(200), nullable=False, server_default="")
        )
    op.create_index("ix_articles_translation_of", "articles", ["translation_of"])


def downgrade() -> None:
    op.drop_index("ix_articles_translation_of", table_name="articles")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("translation_of")
