"""Digest languages: a "reader" list's digest rendered once per further language (issue 30).

The ``digests`` row keeps the primary language's render (what the archive, approval and
every reader of the primary language use); each other language of ``[languages]
available`` gets one row here, rendered and CSS-inlined once per list, period and
language, and the sender splices each recipient into the copy of their language.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "digest_languages",
        sa.Column("digest_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("preheader", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["digest_id"],
            ["digests.id"],
            name=op.f("fk_digest_languages_digest_id_digests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("digest_id", "language", name=op.f("pk_digest_languages")),
    )


def downgrade() -> None:
    op.drop_table("digest_languages")
