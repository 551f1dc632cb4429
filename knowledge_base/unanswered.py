"""The unanswered-questions inbox (no HTTP): log, group by similarity, resolve."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu_core.db import utcnow
from kefu_core.errors import Conflict, NotFound
from knowledge_base import curation
from knowledge_base.encoder import Encoder
from knowledge_base.models import FaqEntry, FaqStatus, UnansweredQuestion

SAME_QUESTION = 0.8  # cosine above which two questions are taken as one


class Groupable(Protocol):
    """Anything with a text and its language: inbox questions, and the reports' customer words."""

    @property
    def text(self) -> str: ...

    @property
    def language(self) -> str: ...


G = TypeVar("G", bound=Groupable)


def log(
    session: Session,
    *,
    text: str,
    language: str,
    conversation_id: str | None,
    top_faq_id: str | None,
    top_score: float | None,
) -> UnansweredQuestion:
    """Record a question the knowledge base answered with `none`."""
    item = UnansweredQuestion(
        text=text[:2000],
        language=language,
        conversation_id=conversation_id,
        top_faq_id=top_faq_id,
        top_score=top_score,
    )
    session.add(item)
    session.flush()
    return item


def open_items(session: Session, language: str | None = None, limit: int = 500) -> list[UnansweredQuestion]:
    """Unresolved questions, newest first."""
    stmt = select(UnansweredQuestion).where(UnansweredQuestion.resolved_at.is_(None))
    if language:
        stmt = stmt.where(UnansweredQuestion.language == language)
    return list(session.scalars(stmt.order_by(UnansweredQuestion.id.desc()).limit(limit)))


def group(
    items: Sequence[G], embedder: Encoder, encoders: Mapping[str, Encoder] | None = None
) -> list[dict[str, Any]]:
    """Greedy grouping by embedding similarity within a language, biggest groups first; a language in
    `encoders` (its own model, as the retriever's) is embedded with that, the others with `embedder`.
    The first item of a group in the given order is its representative."""
    groups: list[dict[str, Any]] = []
    for language in sorted({i.language for i in items}):
        members = [i for i in items if i.language == language]
        vectors = (encoders or {}).get(language, embedder).encode([i.text for i in members])
        assigned = np.full(len(members), -1)
        for pos in range(len(members)):
            if assigned[pos] >= 0:
                continue
            similar = (vectors @ vectors[pos] >= SAME_QUESTION) & (assigned < 0)
            assigned[similar] = pos
            chosen = [members[i] for i in np.flatnonzero(similar)]
            groups.append(
                {
                    "representative": members[pos].text,
                    "language": language,
                    "count": len(chosen),
                    "items": chosen,
                }
            )
    return sorted(groups, key=lambda g: -int(g["count"]))


def _open(session: Session, item_id: int) -> UnansweredQuestion:
    item = session.get(UnansweredQuestion, item_id)
    if item is None:
        raise NotFound(f"unanswered question {item_id} not found")
    if item.resolved_at is not None:
        raise Conflict(f"unanswered question {item_id} was already resolved ({item.resolution})")
    return item


def add_as_variant(session: Session, *, item_id: int, faq_id: str, author_id: int | None) -> FaqEntry:
    """Teach an entry this phrasing."""
    item = _open(session, item_id)
    entry = curation.get_or_raise(session, faq_id)
    variants = [v.text for v in entry.variants]
    if item.text not in variants:
        curation.update(
            session, entry=entry, changes={"variants": [*variants, item.text]}, author_id=author_id
        )
    item.resolved_at, item.resolution, item.resolved_faq_id = utcnow(), "variant_added", entry.id
    return entry


def start_entry(
    session: Session,
    *,
    item_id: int,
    answer: str,
    category: str | None,
    status: FaqStatus,
    author_id: int | None,
) -> FaqEntry:
    """A new entry whose question is this one."""
    item = _open(session, item_id)
    entry = curation.create(
        session,
        data={"question": item.text, "answer": answer, "language": item.language, "category": category,
              "status": status, "variants": [], "tags": []},
        author_id=author_id,
    )  # fmt: skip
    item.resolved_at, item.resolution, item.resolved_faq_id = utcnow(), "entry_created", entry.id
    return entry
