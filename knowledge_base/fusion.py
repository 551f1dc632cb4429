"""Score fusion: each candidate entry's dense, lexical and classifier scores combined into one.

Each signal nominates candidates; every candidate is then scored exactly, as its best-matching text
per signal. The weights per language are in `thresholds` (why they are what they are:
docs/decisions/0002-faq-score-fusion-and-rerank.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from knowledge_base.index import LanguageIndex
from knowledge_base.thresholds import Thresholds

CANDIDATES = 200  # texts taken from each signal before entries are scored exactly
# Entries the classifier adds: it is one signal of three, so an entry it alone ranks low cannot win.
CLASSIFIER_CANDIDATES = 20


@dataclass(frozen=True)
class Fused:
    """Candidate entries with their fused scores, and where their texts sit in the index's rows."""

    faq_ids: list[str]  # in a fixed (sorted) order: ties break the same way every time
    scores: np.ndarray  # float32, one per candidate (the rerank moves some in place)
    rows: np.ndarray  # every candidate's text rows, candidate after candidate
    starts: np.ndarray  # where each candidate's rows begin in `rows`
    counts: np.ndarray  # and how many there are
    cosines: np.ndarray  # per entry of `rows`, that text's cosine to the query


def combine(dense: np.ndarray, lexical: np.ndarray, probs: np.ndarray | None, th: Thresholds) -> np.ndarray:
    """Per entry: the dense cosine (clipped to [0, 1]) and the BM25 score by `th.dense_weight`, then that
    and the classifier's probability (if any) by `th.classifier_weight`; float32."""
    scores = th.dense_weight * np.clip(dense, 0.0, 1.0) + (1 - th.dense_weight) * lexical
    if probs is not None:
        scores = (1 - th.classifier_weight) * scores + th.classifier_weight * probs
    return scores.astype(np.float32)


def fuse(index: LanguageIndex, query: str, qvec: np.ndarray, th: Thresholds) -> Fused | None:
    """The candidates of every signal for `query` (vector `qvec`, shape (1, dimension)), scored; None
    when no signal finds any. The index must have its dense and lexical parts."""
    assert index.dense is not None and index.lexical is not None
    n_docs = len(index.docs)
    take = min(CANDIDATES, n_docs)
    _, dense_ids = index.dense.search(qvec, take)
    lex = index.lexical.scores(query)
    lex_top = np.argpartition(-lex, take - 1)[:take] if take < n_docs else np.arange(n_docs)
    candidates = {index.docs[int(d)].faq_id for d in dense_ids[0] if d >= 0}
    candidates.update(index.docs[int(index.lexical_ids[r])].faq_id for r in lex_top if lex[r] > 0)
    probs = index.classifier.probabilities(query, qvec[0]) if index.classifier is not None else None
    if probs is not None:
        top = (
            np.argpartition(-probs, CLASSIFIER_CANDIDATES)[:CLASSIFIER_CANDIDATES]
            if len(probs) > CLASSIFIER_CANDIDATES
            else range(len(probs))
        )
        candidates.update(index.classifier_ids[i] for i in top)
    ranked = sorted(candidates)
    if not ranked:
        return None
    # All candidates' texts in one product, then the maximum over each entry's run of rows.
    counts = np.fromiter((len(index.entry_rows[f]) for f in ranked), dtype=np.int64, count=len(ranked))
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rows = np.concatenate([index.entry_rows[f] for f in ranked])
    cosines = index.row_vectors[rows] @ qvec[0]
    entry_probs = probs[[index.classifier_pos[f] for f in ranked]] if probs is not None else None
    scores = combine(
        np.maximum.reduceat(cosines, starts), np.maximum.reduceat(lex[rows], starts), entry_probs, th
    )
    return Fused(ranked, scores, rows, starts, counts, cosines)
