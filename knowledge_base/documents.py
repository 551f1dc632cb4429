"""What goes into the retriever (an entry) and what comes out of a search (ranked hits, a decision)."""

from __future__ import annotations

from dataclasses import dataclass

from knowledge_base.decision import Decision


@dataclass(frozen=True)
class EntryDoc:
    """What the retriever needs of one entry."""

    faq_id: str
    question: str
    answer: str
    language: str
    category: str | None
    variants: tuple[str, ...] = ()

    @property
    def texts(self) -> list[str]:
        """The question and its variants, without repeats."""
        return list(dict.fromkeys(t for t in (self.question, *self.variants) if t.strip()))


@dataclass(frozen=True)
class Hit:
    """One ranked entry."""

    faq_id: str
    question: str
    answer: str
    category: str | None
    score: float


@dataclass(frozen=True)
class SearchResult:
    """Ranked entries, the decision taken on them and how long it took."""

    decision: Decision
    results: list[Hit]
    took_ms: float
