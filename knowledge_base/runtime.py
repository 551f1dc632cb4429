"""The process's retriever: built from the database's published entries."""

from __future__ import annotations

from sqlalchemy.orm import Session

from knowledge_base import service
from knowledge_base.embedder import Embedder
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


def build_retriever(session: Session, model_path: str | None = None) -> FaqRetriever:
    """A retriever over every published entry, with the configured (local) embedding model."""
    retriever = FaqRetriever(Embedder(model_path or None))
    retriever.build(entry_docs(session))
    return retriever
