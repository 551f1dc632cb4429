"""The process's retriever: built from the database's published entries."""

from __future__ import annotations

import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from knowledge_base import service
from knowledge_base.embedder import Embedder
from knowledge_base.models import FaqRevision
from knowledge_base.retriever import EntryDoc, FaqRetriever


def entry_docs(session: Session) -> list[EntryDoc]:
    """Published entries as the retriever reads them."""
    return [
        EntryDoc(
            faq_id=e.id,
            question=e.question,
            answer=e.answer,
            language=e.language,
            category=e.category,
            variants=tuple(v.text for v in e.variants),
        )
        for e in service.list_published(session)
    ]


CHECK_EVERY_S = 2.0


def current_version(session: Session) -> int:
    """The knowledge base's version: every curation write adds a revision."""
    return int(session.scalar(select(func.max(FaqRevision.id))) or 0)


def build_retriever(session: Session, model_path: str | None = None) -> FaqRetriever:
    """A retriever over every published entry, with the configured (local) embedding model."""
    retriever = FaqRetriever(Embedder(model_path or None))
    retriever.source_version = current_version(session)
    retriever.build(entry_docs(session))
    retriever.checked_at = time.monotonic()
    return retriever


def ensure_fresh(retriever: FaqRetriever, session: Session) -> bool:
    """Rebuild when another worker or the CLI changed the knowledge base (checked every 2 s at most)."""
    now = time.monotonic()
    if now - retriever.checked_at < CHECK_EVERY_S:
        return False
    retriever.checked_at = now
    version = current_version(session)
    if version == retriever.source_version:
        return False
    retriever.build(entry_docs(session))
    retriever.source_version = version
    return True


def refresh(retriever: FaqRetriever, session: Session, languages: set[str]) -> None:
    """Re-index the languages an edit touched, from the database's published entries."""
    version = current_version(session)
    docs = entry_docs(session)
    for language in languages:
        retriever.rebuild_language(language, docs)
    retriever.source_version = version
