"""Escalation API shapes (a cross-team contract)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from crm_bridge.escalation.models import Reason


class EscalateRequest(BaseModel):
    """Why a human is needed."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "customer_request"}]}
    )

    reason: Reason
    note: str | None = Field(None, max_length=2000)


class EscalateResponse(BaseModel):
    """What escalation did."""

    conversation_id: str
    escalated: bool
    outcome: Literal["queued", "assigned", "offline", "declined"]
    status: Literal["bot", "queued", "agent", "resolved"]
    queue_position: int | None
    estimated_wait_seconds: int | None
    ticket_number: str | None
    expected_reply_by: datetime | None
