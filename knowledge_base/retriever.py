"""Hybrid FAQ retrieval: dense (FAISS over sentence vectors) fused with BM25 and an entry classifier,
a word-piece rerank, and a decision.

Each language has its own index (`index`), built once and then updated entry by entry; texts are
embedded only if the vector cache has never seen them. A language may have its own sentence model
(`encoders`, e.g. KEFU_EMBEDDING_MODEL_ZH) with its own vector cache; the others share `embedder`.
A search gathers and fuses candidates (`fusion`), reorders the best few by word pieces where the
language matches them (`rerank`) and decides whether to answer, clarify or not answer (`decision`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from kefu_core.encoding.embedder import one_blas_thread
from kefu_core.encoding.tokens import TokenVectors
from knowledge_base.classifier_refit import ClassifierRefits
from knowledge_base.decision import Decision, abstain, decide
from knowledge_base.dense import APPROX_ABOVE
from knowledge_base.documents import EntryDoc, Hit, SearchResult
from knowledge_base.encoder import Encoder
from knowledge_base.fusion import fuse
from knowledge_base.index import LanguageIndex, matches_pieces
from knowledge_base.rerank import rerank
from knowledge_base.thresholds import DEFAULT_THRESHOLDS, Thresholds, for_language, with_own_encoders
from knowledge_base.vector_cache import VectorCache

__all__ = [
    "DEFAULT_THRESHOLDS",
    "MAX_QUERY_CHARS",
    "Decision",
    "EntryDoc",
    "FaqRetriever",
    "Hit",
    "SearchResult",
    "Thresholds",
]

MAX_QUERY_CHARS = 1000  # the model reads 256 word pieces at most; the rest is noise
one_blas_thread()  # FAISS's, numpy's and scipy's (via scikit-learn) OpenBLAS are loaded by now


class FaqRetriever:
    """Search published entries per language; built once, then updated entry by entry."""

    def __init__(
        self,
        embedder: Encoder,
        thresholds: dict[str, Thresholds] | None = None,
        *,
        cache: VectorCache | None = None,
        approx_above: int = APPROX_ABOVE,
        encoders: Mapping[str, Encoder] | None = None,
        caches: Mapping[str, VectorCache] | None = None,
    ) -> None:
        self.embedder = embedder
        # Languages with their own sentence model, and its vectors' store (one per model: never mixed).
        self.encoders = dict(encoders or {})
        self.thresholds = thresholds or with_own_encoders(DEFAULT_THRESHOLDS, self.encoders)
        self.cache = cache if cache is not None else VectorCache("memory", embedder.dimension)
        given = caches or {}
        self.caches = {
            lang: given[lang] if lang in given else VectorCache("memory", encoder.dimension)
            for lang, encoder in self.encoders.items()
        }
        self.approx_above = approx_above
        self._indexes: dict[str, LanguageIndex] = {}
        self._lock = threading.RLock()
        self._classifiers = ClassifierRefits(self._lock)
        # Which state of the knowledge base the index reflects (the newest revision id), and when
        # that was last compared with the database: other workers and the CLI write too.
        self.source_version: int | None = None
        self.checked_at = 0.0

    @property
    def size(self) -> int:
        """Entries indexed, all languages."""
        return sum(len(ix.entries) for ix in self._indexes.values())

    def stats(self) -> dict[str, dict[str, int | str]]:
        """Entries, texts and index kind per language."""
        return {
            lang: {"entries": len(ix.entries), "texts": len(ix.docs), "index": ix.kind}
            for lang, ix in sorted(self._indexes.items())
        }

    def encoder_for(self, language: str) -> Encoder:
        """The sentence model `language` is indexed and searched with."""
        return self.encoders.get(language, self.embedder)

    def cache_for(self, language: str) -> VectorCache:
        """The vector store of `language`'s model."""
        return self.caches.get(language, self.cache)

    def vector_caches(self) -> list[VectorCache]:
        """Every vector store in use: the shared model's, then each own model's."""
        return [self.cache, *self.caches.values()]

    def entry_ids(self, language: str) -> set[str]:
        """The ids of the entries indexed for `language`."""
        index = self._indexes.get(language)
        return set(index.entries) if index else set()

    # ---- writes ---------------------------------------------------------------------------------

    def build(self, entries: Sequence[EntryDoc], progress: Callable[[int], None] | None = None) -> None:
        """Index `entries` (question and every variant), replacing what was there."""
        fresh = {}
        for lang, group in _by_language(entries).items():
            index = LanguageIndex(dimension=self.cache_for(lang).dimension)
            self._add_entries(lang, index, group, progress)
            fresh[lang] = index
        with self._lock:
            self._indexes = fresh

    def upsert(self, entries: Iterable[EntryDoc]) -> None:
        """Add or replace entries (an edit re-embeds only texts the cache has not seen)."""
        by_lang = _by_language(entries)
        with self._lock:
            for lang, group in by_lang.items():
                ids = {e.faq_id for e in group}
                # An entry whose language changed leaves its old language's index.
                self._remove(ids, languages=[other for other in self._indexes if other != lang])
                index = self._indexes.setdefault(
                    lang, LanguageIndex(dimension=self.cache_for(lang).dimension)
                )
                index.drop(ids)
                self._add_entries(lang, index, group, None, background=True)

    def remove(self, faq_ids: Iterable[str]) -> None:
        """Take entries out of the index (archived, unpublished or deleted)."""
        with self._lock:
            self._remove(set(faq_ids), languages=list(self._indexes))

    def wait_for_background(self, timeout: float | None = None) -> None:
        """Wait until classifiers being retrained in the background are in place (tests)."""
        self._classifiers.wait(timeout)

    def _remove(self, ids: set[str], *, languages: list[str]) -> None:
        for lang in languages:
            index = self._indexes[lang]
            gone = ids & set(index.entries)
            if not gone:
                continue
            index.drop(gone)
            if index.entries:
                self._refit(lang, index, background=True)
            else:
                del self._indexes[lang]

    def _add_entries(
        self,
        language: str,
        index: LanguageIndex,
        entries: Sequence[EntryDoc],
        progress: Callable[[int], None] | None,
        *,
        background: bool = False,
    ) -> None:
        token_weight = for_language(self.thresholds, language).token_weight
        encoder, cache = self.encoder_for(language), self.cache_for(language)

        def embed(texts: list[str], total: int) -> tuple[np.ndarray, list[TokenVectors | None]]:
            if matches_pieces(token_weight, total, encoder):
                vectors, found, _ = cache.vectors_and_tokens(texts, encoder.encode_tokens, progress=progress)
                return vectors, list(found)
            vectors, _ = cache.vectors(texts, encoder.encode, progress=progress)
            return vectors, [None] * len(texts)

        index.add_entries(entries, embed, self.approx_above)
        self._refit(language, index, background=background)

    def _refit(self, language: str, index: LanguageIndex, *, background: bool = False) -> None:
        """Recompute the global statistics after a change: BM25, word-piece IDF, the entry classifier
        (with `background`, an edit rather than a build, a large base's is retrained in a thread)."""
        th = for_language(self.thresholds, language)
        index.reindex_rows()
        encoder = self.encoder_for(language)
        pieces = bool(index.docs) and matches_pieces(th.token_weight, len(index.docs), encoder)
        index.keep_pieces(encoder.vocabulary if pieces else None)
        self._classifiers.refit(language, index, th.classifier_weight, background=background)

        def vocabulary(texts: int) -> int | None:
            return encoder.vocabulary if matches_pieces(th.token_weight, texts, encoder) else None

        self._classifiers.recalibrate(
            language, index, th, approx_above=self.approx_above, vocabulary=vocabulary
        )

    # ---- reads ----------------------------------------------------------------------------------

    def search(self, query: str, *, language: str, k: int = 3) -> SearchResult:
        """The top `k` entries of `language` for `query`, with answer / clarify / none."""
        if k < 1:
            raise ValueError("k must be at least 1")
        started = time.perf_counter()
        query = query.strip()[:MAX_QUERY_CHARS]
        if language not in self._indexes or not query:
            return SearchResult("none", [], (time.perf_counter() - started) * 1000)
        th = for_language(self.thresholds, language)
        pieces: TokenVectors | None = None
        current = self._indexes.get(language)
        encoder = self.encoder_for(language)
        if current is not None and current.row_pieces is not None:
            qvec, pieces = encoder.encode_query(query)
        else:
            qvec = encoder.encode([query])
        with self._lock:
            index = self._indexes.get(language)
            if index is None or index.dense is None or index.lexical is None:
                return SearchResult("none", [], (time.perf_counter() - started) * 1000)
            hits, evidence = self._rank(index, query, qvec, th, k, pieces)
        decision = abstain(decide([h.score for h in hits], th), evidence, th)
        return SearchResult(decision, hits, (time.perf_counter() - started) * 1000)

    @staticmethod
    def _rank(
        index: LanguageIndex,
        query: str,
        qvec: np.ndarray,
        th: Thresholds,
        k: int,
        pieces: TokenVectors | None = None,
    ) -> tuple[list[Hit], float | None]:
        """The top `k` hits, and the top entry's calibrated evidence (None when abstention is off)."""
        fused = fuse(index, query, qvec, th)
        if fused is None:
            return [], None
        if (
            pieces is not None
            and th.token_weight > 0
            and index.row_pieces is not None
            and index.idf is not None
        ):
            rerank(fused, pieces, index.row_pieces, index.idf, th.token_weight)
        order = np.argsort(-fused.scores, kind="stable")[:k]
        evidence = None
        if th.open_quantile > 0 and index.calibration is not None:
            top = int(order[0])
            start = int(fused.starts[top])
            dense = float(fused.cosines[start : start + int(fused.counts[top])].max())
            evidence = index.calibration.evidence(fused.faq_ids[top], float(fused.scores[top]), dense)
        hits = [
            Hit(
                faq_id=entry.faq_id,
                question=entry.question,
                answer=entry.answer,
                category=entry.category,
                score=round(float(fused.scores[i]), 4),
            )
            for i in order
            for entry in (index.entries[fused.faq_ids[i]],)
        ]
        return hits, evidence


def _by_language(entries: Iterable[EntryDoc]) -> dict[str, list[EntryDoc]]:
    by_lang: dict[str, list[EntryDoc]] = {}
    for entry in entries:
        by_lang.setdefault(entry.language, []).append(entry)
    return by_lang
