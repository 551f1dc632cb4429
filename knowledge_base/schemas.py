"""API shapes of the knowledge base."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class SearchHit(BaseModel):
    """One ranked entry."""

    faq_id: str
    question: str
    answer: str
    score: float
    category: str | None


class SearchResponse(BaseModel):
    """GET /api/v1/kb/search."""

    decision: Literal["answer", "clarify", "none"]
    results: list[SearchHit]
    took_ms: float
