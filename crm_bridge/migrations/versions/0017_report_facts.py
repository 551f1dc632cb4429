"""report facts (issue 23): the per-conversation rollup the reports read, and the knowledge base's decisions

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08 01:00:00.000000

conversation_facts starts empty here; the app fills it as conversations change and `kefu reports rebuild`
fills it for the conversations that existed before (docs/decisions/0016-report-rollups.md).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def upgrade() -> None:
    op.create_table(
        "kb_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("top_faq_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_kb_decisions_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_decisions")),
    )
    op.create_index("ix_kb_decisions_created_at", "kb_decisions", ["created_at"])
    op.create_index(op.f("ix_kb_decisions_conversation_id"), "kb_decisions", ["conversation_id"])
    op.create_table(
        "conversation_facts",
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        _when("handoff_at"),
        sa.Column("handoff_reason", sa.String(length=32), nullable=True),
        _when("first_reply_at"),
        sa.Column("first_responder_id", sa.Integer(), nullable=True),
        sa.Column("first_response_s", sa.Float(), nullable=True),
        sa.Column("first_response_bh_s", sa.Float(), nullable=True),
        sa.Column("agent_replies", sa.Integer(), nullable=False),
        _when("first_resolved_at"),
        _when("resolved_at"),
        sa.Column("resolutions", sa.Integer(), nullable=False),
        sa.Column("reopens", sa.Integer(), nullable=False),
        sa.Column("first_resolution_s", sa.Float(), nullable=True),
        sa.Column("full_resolution_s", sa.Float(), nullable=True),
        _when("last_message_at"),
        _when("next_started_at"),
        sa.Column("recontact_s", sa.Float(), nullable=True),
        sa.Column("kb_decisions", sa.Integer(), nullable=False),
        sa.Column("kb_none", sa.Integer(), nullable=False),
        sa.Column("inbound_messages", sa.Integer(), nullable=False),
        sa.Column("positive", sa.Integer(), nullable=False),
        sa.Column("neutral", sa.Integer(), nullable=False),
        sa.Column("negative", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_facts_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_conversation_facts")),
    )
    op.create_index("ix_conversation_facts_started", "conversation_facts", ["started_at"])
    op.create_index(
        "ix_conversation_facts_contact_started", "conversation_facts", ["contact_id", "started_at"]
    )
    op.create_index(op.f("ix_conversation_facts_assignee_id"), "conversation_facts", ["assignee_id"])
    op.create_index(
        op.f("ix_conversation_facts_first_responder_id"), "conversation_facts", ["first_responder_id"]
    )


def downgrade() -> None:
    op.drop_table("conversation_facts")
    op.drop_table("kb_decisions")
