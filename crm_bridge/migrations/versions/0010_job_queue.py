"""job queue: turns, dead jobs, leases

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 18:00:00.000000

`turns` holds each queued customer message once per (channel, platform message id); `dead_jobs` keeps
tasks whose retries ran out, for replay; `job_leases` lets one worker at a time work on a key (a
conversation's turns).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dead_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task", sa.String(length=100), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("kwargs", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("dead", "replayed", name="deadjobstatus", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_jobs")),
    )
    with op.batch_alter_table("dead_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dead_jobs_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_dead_jobs_task"), ["task"], unique=False)

    op.create_table(
        "job_leases",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_job_leases")),
    )
    op.create_table(
        "turns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("platform_id", sa.String(length=128), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "done", "unavailable", name="turnstatus", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("worker", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_turns_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_turns_message_id_messages"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_turns")),
        sa.UniqueConstraint("channel", "platform_id", name=op.f("uq_turns_channel")),
        sa.UniqueConstraint("message_id", name=op.f("uq_turns_message_id")),
    )
    with op.batch_alter_table("turns", schema=None) as batch_op:
        batch_op.create_index("ix_turns_conversation_status", ["conversation_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("turns", schema=None) as batch_op:
        batch_op.drop_index("ix_turns_conversation_status")

    op.drop_table("turns")
    op.drop_table("job_leases")
    with op.batch_alter_table("dead_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dead_jobs_task"))
        batch_op.drop_index(batch_op.f("ix_dead_jobs_status"))

    op.drop_table("dead_jobs")
