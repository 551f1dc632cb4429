"""facts pending: conversations whose report facts are out of date, applied before a report reads and
every minute instead of inside every chat commit (the inline refresh doubled a turn's write time)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08 02:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "conversation_facts_pending",
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("resolutions", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("reopens", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("first_resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("new", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_conversation_facts_pending")),
    )


def downgrade() -> None:
    op.drop_table("conversation_facts_pending")
