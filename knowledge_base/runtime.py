"""The process's retriever: built from the database's published entries, kept current entry by entry.

Vectors persist under `var/kb-index/` (see `vector_cache`): a restart embeds nothing it embedded before,
and every write re-indexes only the entries it touched, found from the revisions the write added.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from kefu_core.encoding.embedder import Embedder, shared_embedder
from kefu_core.encoding.fingerprint import model_fingerprint
from kefu_core.paths import var_dir
from knowledge_base import service
from knowledge_base.documents import EntryDoc
from knowledge_base.models import FaqEntry, FaqRevision, FaqStatus
from knowledge_base.retriever import FaqRetriever
from knowledge_base.vector_cache import VectorCache

CHECK_EVERY_S = 2.0


def index_dir() -> Path:
    """Where the index's vectors and manifest live."""
    return var_dir() / "kb-index"


def to_doc(entry: FaqEntry) -> EntryDoc:
    """An entry as the retriever reads it."""
    return EntryDoc(
        faq_id=entry.id,
        question=entry.question,
        answer=entry.answer,
        language=entry.language,
        category=entry.category,
        variants=tuple(v.text for v in entry.variants),
    )


def entry_docs(session: Session) -> list[EntryDoc]:
    """Published entries as the retriever reads them."""
    return [to_doc(e) for e in service.list_published(session)]


def current_version(session: Session) -> int:
    """The knowledge base's version: every curation write adds a revision."""
    return int(session.scalar(select(func.max(FaqRevision.id))) or 0)


def open_cache(embedder: Embedder, root: Path | None) -> VectorCache:
    """The vector store for this embedding model (in memory only when `root` is None)."""
    return VectorCache(model_fingerprint(embedder.model_path), embedder.dimension, root)


def build_retriever(
    session: Session,
    model_path: str | None = None,
    *,
    root: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> FaqRetriever:
    """A retriever over every published entry, reusing the vectors stored under `root` (var/kb-index)."""
    embedder = shared_embedder(model_path or None)
    cache = open_cache(embedder, root if root is not None else index_dir())
    retriever = FaqRetriever(embedder, cache=cache)
    retriever.source_version = current_version(session)
    retriever.build(entry_docs(session), progress=progress)
    retriever.checked_at = time.monotonic()
    write_manifest(retriever)
    return retriever


def write_manifest(retriever: FaqRetriever) -> None:
    """Record what the stored index reflects (the knowledge base version, sizes per language)."""
    retriever.cache.write_manifest(
        source_version=retriever.source_version,
        model_path=str(retriever.embedder.model_path),
        languages=retriever.stats(),
    )


def refresh(retriever: FaqRetriever, session: Session) -> int:
    """Apply every change made since the index's version, entry by entry; returns entries re-indexed."""
    version = current_version(session)
    since = retriever.source_version or 0
    if version == since:
        return 0
    changed = set(session.scalars(select(FaqRevision.faq_id).where(FaqRevision.id > since)))
    if version < since:  # the database was replaced (restored, re-created): start over
        retriever.build(entry_docs(session))
        changed = set()
    published = list(
        session.scalars(
            select(FaqEntry)
            .where(FaqEntry.id.in_(changed), FaqEntry.status == FaqStatus.published)
            .options(selectinload(FaqEntry.variants))
        )
    )
    retriever.upsert(to_doc(e) for e in published)
    retriever.remove(changed - {e.id for e in published})
    retriever.source_version = version
    write_manifest(retriever)
    return len(changed)


def ensure_fresh(retriever: FaqRetriever, session: Session) -> bool:
    """Catch up with writes made by another worker or the CLI (checked every 2 s at most)."""
    now = time.monotonic()
    if now - retriever.checked_at < CHECK_EVERY_S:
        return False
    retriever.checked_at = now
    if current_version(session) == retriever.source_version:
        return False
    refresh(retriever, session)
    return True
