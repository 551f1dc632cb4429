"""The process's retriever: built from the database's published entries, kept current entry by entry.

Vectors persist under `var/kb-index/` (see `vector_cache`): a restart embeds nothing it embedded before,
and every write re-indexes only the entries it touched, found from the revisions the write added. A
language with its own sentence model (KEFU_EMBEDDING_MODEL_ZH) keeps its vectors in that model's store.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from kefu_core.encoding.embedder import Embedder, shared_embedder
from kefu_core.encoding.fingerprint import model_fingerprint
from kefu_core.paths import var_dir
from kefu_core.settings import LANGUAGE_MODEL_VARIABLES, get_settings, sentence_model_problem
from knowledge_base import service
from knowledge_base.documents import EntryDoc
from knowledge_base.models import FaqEntry, FaqRevision, FaqStatus
from knowledge_base.retriever import FaqRetriever
from knowledge_base.thresholds import DEFAULT_THRESHOLDS, with_open_quantile, with_own_encoders
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


def language_embedders(embedder: Embedder, language_models: Mapping[str, str] | None) -> dict[str, Embedder]:
    """The languages given a model of their own (`{"zh": folder}`), each with its shared embedder; a
    language given the default model's own folder, or no folder, keeps the default.

    Raises ValueError naming the setting when a folder is not a sentence-transformers model."""
    own: dict[str, Embedder] = {}
    for language, folder in (language_models or {}).items():
        if not folder:
            continue
        problem = sentence_model_problem(Path(folder))
        if problem:
            variable = LANGUAGE_MODEL_VARIABLES.get(language, f"the {language} embedding model")
            raise ValueError(f"{variable}={folder!r}: {problem}")
        encoder = shared_embedder(folder)
        # The default model again (or a copy of it elsewhere): the language stays as it is by default.
        if model_fingerprint(encoder.model_path) != model_fingerprint(embedder.model_path):
            own[language] = encoder
    return own


def open_retriever(
    model_path: str | None = None,
    language_models: Mapping[str, str] | None = None,
    *,
    root: Path | None = None,
    open_quantile: float = 0.0,
) -> FaqRetriever:
    """An empty retriever on the configured models, each language's vectors in its model's store under
    `root` (None: in memory only); `open_quantile` > 0 turns open-intent abstention on."""
    embedder = shared_embedder(model_path or None)
    own = language_embedders(embedder, language_models)
    return FaqRetriever(
        embedder,
        with_open_quantile(with_own_encoders(DEFAULT_THRESHOLDS, own), open_quantile),
        cache=open_cache(embedder, root),
        encoders=own,
        caches={language: open_cache(encoder, root) for language, encoder in own.items()},
    )


def build_retriever(
    session: Session,
    model_path: str | None = None,
    *,
    language_models: Mapping[str, str] | None = None,
    root: Path | None = None,
    progress: Callable[[int], None] | None = None,
    open_quantile: float | None = None,
) -> FaqRetriever:
    """A retriever over every published entry, reusing the vectors stored under `root` (var/kb-index);
    `language_models` gives a language its own model (settings.language_embedding_models), `open_quantile`
    its open-intent abstention (None: KEFU_KB_OPEN_QUANTILE)."""
    if open_quantile is None:
        open_quantile = get_settings().kb_open_quantile
    retriever = open_retriever(
        model_path,
        language_models,
        root=root if root is not None else index_dir(),
        open_quantile=open_quantile,
    )
    retriever.source_version = current_version(session)
    retriever.build(entry_docs(session), progress=progress)
    retriever.checked_at = time.monotonic()
    write_manifest(retriever)
    return retriever


def write_manifest(retriever: FaqRetriever) -> None:
    """Record what each stored index reflects (the knowledge base version, sizes per language it holds)."""
    stats = retriever.stats()
    shared = {lang: info for lang, info in stats.items() if lang not in retriever.encoders}
    retriever.cache.write_manifest(
        source_version=retriever.source_version,
        model_path=str(retriever.embedder.model_path),
        languages=shared,
    )
    for language, encoder in retriever.encoders.items():
        retriever.cache_for(language).write_manifest(
            source_version=retriever.source_version,
            model_path=str(encoder.model_path),
            languages={lang: info for lang, info in stats.items() if lang == language},
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
