"""`POST /api/v1/sentiment`: the analysis of one text, for integrations and tests."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from crm_bridge.users.auth import Principal, require_role
from crm_bridge.users.models import Role
from kefu_core.errors import Invalid
from sentiment.analyser import get_analyser
from sentiment.types import SentimentError

router = APIRouter(prefix="/api/v1", tags=["sentiment"])
Caller = Annotated[Principal, require_role(Role.agent, allow_service=True)]
MAX_TEXT = 20_000  # longer texts are cut to the first few thousand characters anyway


class SentimentRequest(BaseModel):
    """A text and, optionally, its language (detected when left out)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"text": "The parcel came broken and nobody answers!"},
                                        {"text": "客服很耐心，谢谢", "language": "zh"}]},
    )  # fmt: skip

    text: str = Field(min_length=1, max_length=MAX_TEXT)
    language: Literal["en", "zh"] | None = None


class SentimentResponse(BaseModel):
    """label: negative / neutral / positive; score = P(positive) - P(negative); confidence = P(label)."""

    label: Literal["negative", "neutral", "positive"]
    score: float = Field(ge=-1, le=1)
    confidence: float = Field(ge=0, le=1)
    language: Literal["en", "zh"]


@router.post("/sentiment", response_model=SentimentResponse)
def analyse(body: SentimentRequest, principal: Caller) -> SentimentResponse:
    """Label, score and confidence of one text (agents, admins and the service token)."""
    try:
        result = get_analyser().analyse(body.text, body.language)
    except SentimentError as exc:  # whitespace only, for instance
        raise Invalid(str(exc)) from exc
    return SentimentResponse(
        label=result.label,
        score=result.score,
        confidence=result.confidence,
        language=result.language,
    )
