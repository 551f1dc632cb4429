"""Per-entry calibrated evidence for abstaining on questions the base does not cover (open intent).

At build time each language's entries have their variants cross-fitted: in FOLDS rounds a fold of every
entry's variants leaves the index (rebuilt from the stored vectors, nothing re-embedded), and each held-out
variant is scored against its own entry. An entry keeps the sorted held-out fused scores and dense best
cosines; a query's evidence for its top entry is the mean of its two percentiles there, each blended towards
the language's pooled distribution for entries with few variants. Measured and chosen on BANKING77 dev
splits: docs/decisions/0010-open-intent-abstention.md.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from knowledge_base.documents import EntryDoc
from knowledge_base.fusion import fuse
from knowledge_base.index import LanguageIndex, TextDoc
from knowledge_base.rerank import rerank
from knowledge_base.thresholds import Thresholds

FOLDS = 5
SHRINK = 10  # the pooled distribution's pseudo-count: an entry with 3-7 variants is not judged on 3-7 numbers
MIN_HELD_OUT = 20  # fewer held-out variants in the whole language: no calibration, today's decision
FOLD_SEED = 7


@dataclass(frozen=True)
class Calibration:
    """Sorted held-out scores per entry (fused, dense) and pooled over the language."""

    fused: dict[str, np.ndarray]
    dense: dict[str, np.ndarray]
    pooled_fused: np.ndarray
    pooled_dense: np.ndarray

    def evidence(self, faq_id: str, fused: float, dense: float) -> float:
        """Mean of `fused`'s and `dense`'s percentiles among the entry's held-out variants (blended)."""
        empty = np.zeros(0, np.float32)
        return (
            _blended(self.fused.get(faq_id, empty), self.pooled_fused, fused)
            + _blended(self.dense.get(faq_id, empty), self.pooled_dense, dense)
        ) / 2


def _cdf(values: np.ndarray, x: float) -> float:
    return float(np.searchsorted(values, x, side="right")) / len(values)


def _blended(own: np.ndarray, pooled: np.ndarray, x: float) -> float:
    """(n·F_own(x) + SHRINK·F_pooled(x)) / (n + SHRINK)."""
    n = len(own)
    return (n * (_cdf(own, x) if n else 0.0) + SHRINK * _cdf(pooled, x)) / (n + SHRINK)


@dataclass(frozen=True)
class Snapshot:
    """What a calibration reads of an index, copied so a background thread is not disturbed by edits."""

    dimension: int
    entries: dict[str, EntryDoc]
    docs: dict[str, list[TextDoc]]  # per entry, its question's doc first


def snapshot(index: LanguageIndex) -> Snapshot:
    """A copy of `index`'s entries and texts (vectors shared, never written)."""
    docs = {f: [replace(index.docs[d]) for d in ids] for f, ids in index.entry_docs.items()}
    return Snapshot(index.dimension, dict(index.entries), docs)


def calibrate(
    snap: Snapshot,
    th: Thresholds,
    *,
    approx_above: int,
    vocabulary: Callable[[int], int | None],
    fit_classifier: Callable[[LanguageIndex], None],
) -> Calibration | None:
    """Cross-fit every entry's variants (FOLDS rounds); None when the language has under MIN_HELD_OUT.

    `vocabulary(texts)`: the encoder's word-piece vocabulary when a language of that many texts matches word
    pieces, else None; `fit_classifier` fits an index's entry classifier as the retriever would."""
    rng = random.Random(FOLD_SEED)
    fold_of: dict[tuple[str, int], int] = {}
    for faq_id, docs in snap.docs.items():
        positions = list(range(1, len(docs)))  # the question (position 0) is never held out
        rng.shuffle(positions)
        for j, position in enumerate(positions):
            fold_of[(faq_id, position)] = j % FOLDS
    if len(fold_of) < MIN_HELD_OUT:
        return None
    held: dict[str, dict[str, list[float]]] = {f: {"fused": [], "dense": []} for f in snap.docs}
    for fold in range(FOLDS):
        index = _without(snap, fold_of, fold, approx_above, vocabulary, fit_classifier)
        for (faq_id, position), f in fold_of.items():
            if f == fold:
                fused, dense = _own_scores(index, snap.docs[faq_id][position], faq_id, th)
                held[faq_id]["fused"].append(fused)
                held[faq_id]["dense"].append(dense)

    def pooled(key: str) -> np.ndarray:
        return np.sort(np.concatenate([np.asarray(h[key], np.float32) for h in held.values()]))

    return Calibration(
        {f: np.sort(np.asarray(h["fused"], np.float32)) for f, h in held.items()},
        {f: np.sort(np.asarray(h["dense"], np.float32)) for f, h in held.items()},
        pooled("fused"),
        pooled("dense"),
    )


def _without(
    snap: Snapshot,
    fold_of: dict[tuple[str, int], int],
    fold: int,
    approx_above: int,
    vocabulary: Callable[[int], int | None],
    fit_classifier: Callable[[LanguageIndex], None],
) -> LanguageIndex:
    """The index rebuilt from the snapshot without `fold`'s variants (stored vectors; BM25, IDF, classifier
    refitted)."""
    index = LanguageIndex(dimension=snap.dimension)
    index.entries = dict(snap.entries)
    for faq_id, docs in snap.docs.items():
        for position, doc in enumerate(docs):
            if fold_of.get((faq_id, position)) != fold:
                index.docs[index.next_id] = replace(doc)
                index.entry_docs.setdefault(faq_id, []).append(index.next_id)
                index.next_id += 1
    index.build_dense(approx_above)
    index.reindex_rows()
    index.keep_pieces(vocabulary(len(index.docs)))
    fit_classifier(index)
    return index


def _own_scores(index: LanguageIndex, doc: TextDoc, faq_id: str, th: Thresholds) -> tuple[float, float]:
    """A held-out text's final fused score and dense best cosine for its own entry (0: not a candidate)."""
    fused = fuse(index, doc.text, doc.vector[None, :], th)
    if fused is None or faq_id not in fused.faq_ids:
        return 0.0, 0.0
    pieces, row_pieces, idf = doc.pieces, index.row_pieces, index.idf
    if pieces is not None and th.token_weight > 0 and row_pieces is not None and idf is not None:
        rerank(fused, pieces, row_pieces, idf, th.token_weight)
    j = fused.faq_ids.index(faq_id)
    dense = np.maximum.reduceat(fused.cosines, fused.starts)
    return float(fused.scores[j]), float(dense[j])
