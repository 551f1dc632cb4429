"""API shapes for feedback."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from crm_bridge import readback
from crm_bridge.feedback.models import Feedback
from crm_bridge.shapes import MAX_ID


class FeedbackCreate(BaseModel):
    """A rating."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"rating": 5, "nps": 9, "comment": "Fast and friendly", "ticket_number": "T-000012"}]
        },
    )

    rating: int = Field(ge=1, le=5, description="CSAT, 1 (very unhappy) to 5 (very happy)")
    nps: int | None = Field(None, ge=0, le=10, description="how likely to recommend us, 0 to 10")
    comment: str | None = Field(None, max_length=5000)
    conversation_id: str | None = Field(None, min_length=1, max_length=32)
    ticket_number: str | None = Field(None, min_length=1, max_length=20)
    contact_id: int | None = Field(None, ge=1, le=MAX_ID)
    agent_id: int | None = Field(None, ge=1, le=MAX_ID)


class FeedbackRead(BaseModel):
    """A stored rating."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    rating: int
    nps: int | None
    comment: str | None
    conversation_id: str | None
    ticket_number: str | None
    contact_id: int | None
    agent_id: int | None
    created_at: datetime


class FeedbackSummary(BaseModel):
    """Figures over a date range."""

    count: int
    csat_average: float | None = Field(description="mean rating, 1-5")
    csat_satisfied_share: float | None = Field(description="share of ratings that are 4 or 5, 0-1")
    nps: float | None = Field(description="% promoters (9-10) minus % detractors (0-6), -100 to 100")
    nps_responses: int


readback.guard(Feedback, FeedbackRead)
