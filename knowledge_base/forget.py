"""Forgetting a customer's questions (erasure, PIPL / GDPR): the unanswered-inbox items of their
conversations and what admins made of them (variants, entries started from them, revision snapshots)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from knowledge_base import curation
from knowledge_base.models import FaqEntry, FaqRevision, FaqStatus, UnansweredQuestion


def _scrub(snapshot: dict[str, Any], texts: set[str], marker: str) -> dict[str, Any]:
    clean = dict(snapshot)
    if clean.get("question") in texts:
        clean["question"] = marker
    if isinstance(clean.get("variants"), list):
        clean["variants"] = [v for v in clean["variants"] if v not in texts]
    return clean


def _forget_in_entry(
    session: Session, faq_id: str, texts: set[str], marker: str, author_id: int | None
) -> None:
    entry = session.get(FaqEntry, faq_id, options=[selectinload(FaqEntry.variants)])
    if entry is not None:
        changes: dict[str, Any] = {}
        kept = [v.text for v in entry.variants if v.text not in texts]
        if len(kept) != len(entry.variants):
            changes["variants"] = kept
        if entry.question in texts:
            # An entry whose question is still the customer's words: archived, for an admin to reword.
            changes |= {"question": marker, "status": FaqStatus.archived}
        # A new revision, so every worker's index catches up (knowledge_base/runtime.refresh).
        curation.update(session, entry=entry, changes=changes, author_id=author_id, action="erase")
    for revision in session.scalars(select(FaqRevision).where(FaqRevision.faq_id == faq_id)):
        clean = _scrub(revision.snapshot, texts, marker)
        if clean != revision.snapshot:
            revision.snapshot = clean


def forget_questions(
    session: Session, conversation_ids: Collection[str], *, marker: str, author_id: int | None = None
) -> int:
    """Delete the inbox items of these conversations and take their texts out of the entries they were
    added to (variants, a question still equal to the text, revision snapshots); how many items went."""
    if not conversation_ids:
        return 0
    items = list(
        session.scalars(
            select(UnansweredQuestion).where(UnansweredQuestion.conversation_id.in_(list(conversation_ids)))
        )
    )
    texts_by_entry: dict[str, set[str]] = {}
    for item in items:
        if item.resolved_faq_id:
            texts_by_entry.setdefault(item.resolved_faq_id, set()).add(item.text)
        session.delete(item)
    for faq_id, texts in texts_by_entry.items():
        _forget_in_entry(session, faq_id, texts, marker, author_id)
    session.flush()
    return len(items)
