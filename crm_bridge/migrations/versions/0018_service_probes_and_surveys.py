"""availability probes, survey offers and follow-ups (issue 23)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08 01:00:00.000000

- service_probes: one row per minute from crm_bridge's own probe (the minute is the key, so two workers
  cannot store the same minute twice);
- survey_offers: each time a customer was asked for a rating (the response rate's denominator);
- feedback_follow_ups: the ticket a low rating opened, at most one per rating.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "service_probes",
        sa.Column("minute", sa.DateTime(timezone=True), nullable=False),
        sa.Column("healthy", sa.Boolean(), nullable=False),
        sa.Column("database_ok", sa.Boolean(), nullable=False),
        sa.Column("rasa_ok", sa.Boolean(), nullable=False),
        sa.Column("action_server_ok", sa.Boolean(), nullable=False),
        sa.Column("knowledge_base_ok", sa.Boolean(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("minute", name=op.f("pk_service_probes")),
    )
    op.create_table(
        "survey_offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column(
            "via", sa.Enum("bot", "widget", name="offeredvia", native_enum=False, length=16), nullable=False
        ),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_survey_offers_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_offers")),
    )
    with op.batch_alter_table("survey_offers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_survey_offers_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_survey_offers_offered_at"), ["offered_at"], unique=False)
    op.create_table(
        "feedback_follow_ups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feedback_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["feedback_id"],
            ["feedback.id"],
            name=op.f("fk_feedback_follow_ups_feedback_id_feedback"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_feedback_follow_ups_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_follow_ups")),
        sa.UniqueConstraint("feedback_id", name=op.f("uq_feedback_follow_ups_feedback_id")),
    )
    with op.batch_alter_table("feedback_follow_ups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feedback_follow_ups_ticket_id"), ["ticket_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("feedback_follow_ups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_follow_ups_ticket_id"))
    op.drop_table("feedback_follow_ups")
    with op.batch_alter_table("survey_offers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_offers_offered_at"))
        batch_op.drop_index(batch_op.f("ix_survey_offers_conversation_id"))
    op.drop_table("survey_offers")
    op.drop_table("service_probes")
