"""outbox items and external links

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connector", sa.String(length=64), nullable=False),
        sa.Column("operation", sa.String(length=32), nullable=False),
        sa.Column("entity", sa.String(length=200), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "done", "dead", name="outboxstatus", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_items")),
    )
    with op.batch_alter_table("outbox_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_items_connector"), ["connector"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_items_entity"), ["entity"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_outbox_items_next_attempt_at"), ["next_attempt_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_outbox_items_status"), ["status"], unique=False)

    op.create_table(
        "external_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connector", sa.String(length=64), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("contact", "ticket", "feedback", name="linkkind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("local_id", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_external_links")),
        sa.UniqueConstraint("connector", "kind", "local_id", name=op.f("uq_external_links_connector")),
    )


def downgrade() -> None:
    op.drop_table("external_links")
    with op.batch_alter_table("outbox_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_items_status"))
        batch_op.drop_index(batch_op.f("ix_outbox_items_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_outbox_items_entity"))
        batch_op.drop_index(batch_op.f("ix_outbox_items_connector"))

    op.drop_table("outbox_items")
