"""API shapes of the knowledge base."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from knowledge_base.models import FaqStatus

Language = Literal["en", "zh"]


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


def _clean_text(value: str, what: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError(f"{what} must not be blank")
    return value


def _clean_variants(values: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        text = value.strip()
        if text and text.lower() not in {k.lower() for k in seen}:
            seen[text] = None
    return list(seen)


class FaqFields(BaseModel):
    """Fields an entry is written with (the import format, too)."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=1000)
    variants: list[str] = Field(default_factory=list, max_length=500)
    answer: str = Field(min_length=1, max_length=10_000)
    language: Language
    category: str | None = Field(None, max_length=64)
    tags: list[str] = Field(default_factory=list, max_length=50)
    status: FaqStatus = FaqStatus.draft

    @field_validator("question")
    @classmethod
    def _question(cls, value: str) -> str:
        return _clean_text(value, "question")

    @field_validator("answer")
    @classmethod
    def _answer(cls, value: str) -> str:
        return _clean_text(value, "answer")

    @field_validator("variants")
    @classmethod
    def _variants(cls, values: list[str]) -> list[str]:
        if any(len(v) > 1000 for v in values):
            raise ValueError("a variant has at most 1000 characters")
        return _clean_variants(values)


class FaqCreate(FaqFields):
    """A new entry (id optional: generated when absent)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "question": "Do you ship to Canada?",
                    "variants": ["shipping to canada", "can you deliver to Toronto"],
                    "answer": "Yes: 7–12 business days, from $19.90.",
                    "language": "en",
                    "category": "shipping",
                    "status": "published",
                }
            ]
        },
    )

    id: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")


class FaqImportRow(FaqCreate):
    """One line of an import (the same fields; status defaults to published for imports)."""

    status: FaqStatus = FaqStatus.published


class FaqUpdate(BaseModel):
    """Changes (only the fields sent are applied)."""

    model_config = ConfigDict(extra="forbid")

    question: str | None = Field(None, min_length=1, max_length=1000)
    variants: list[str] | None = Field(None, max_length=500)
    answer: str | None = Field(None, min_length=1, max_length=10_000)
    language: Language | None = None
    category: str | None = Field(None, max_length=64)
    tags: list[str] | None = Field(None, max_length=50)
    status: FaqStatus | None = None

    @field_validator("variants")
    @classmethod
    def _variants(cls, values: list[str] | None) -> list[str] | None:
        return _clean_variants(values) if values is not None else None


class FaqRead(BaseModel):
    """An entry as the API shows it."""

    id: str
    question: str
    variants: list[str]
    answer: str
    language: str
    category: str | None
    tags: list[str]
    status: FaqStatus
    version: int
    created_at: datetime
    updated_at: datetime


class RevisionRead(BaseModel):
    """One revision."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    faq_id: str
    version: int
    action: str
    author_id: int | None
    snapshot: dict[str, Any]
    created_at: datetime


class ImportReport(BaseModel):
    """What an import did."""

    created: int
    updated: int
    total: int


class UnansweredRead(BaseModel):
    """One unanswered question."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    text: str
    language: str
    conversation_id: str | None
    top_faq_id: str | None
    top_score: float | None
    created_at: datetime


class UnansweredGroup(BaseModel):
    """Unanswered questions that ask the same thing (by embedding similarity)."""

    representative: str
    language: str
    count: int
    items: list[UnansweredRead]


class AddVariant(BaseModel):
    """Resolve an unanswered question by adding it as a variant of an entry."""

    model_config = ConfigDict(extra="forbid")

    faq_id: str = Field(min_length=1, max_length=64)


class NewEntryFromQuestion(BaseModel):
    """Resolve an unanswered question by starting a new (draft) entry from it."""

    model_config = ConfigDict(extra="forbid")

    answer: str = Field(min_length=1, max_length=10_000)
    category: str | None = Field(None, max_length=64)
    status: FaqStatus = FaqStatus.draft
