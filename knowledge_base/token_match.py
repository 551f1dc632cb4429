"""Word-piece matching ("MaxSim"): how well each word of a question is met by some word of a text.

A sentence vector averages a text into one point, so "card not arrived" and "card not working" sit
close together. Matching word-piece vectors (the same MiniLM's contextual token outputs, before
pooling) keeps the words apart: each word piece of the question takes its best cosine with any word
piece of the text, and the question's pieces are averaged, weighted by their rarity in the knowledge
base (IDF), so "card" counts less than "arrived". The retriever uses it to reorder its few best
candidates in English (`rerank`; measured in docs/decisions/0002-faq-score-fusion-and-rerank.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kefu_core.encoding.tokens import TokenVectors


def idf_table(docs: Sequence[TokenVectors], vocabulary: int) -> np.ndarray:
    """Per vocabulary id, BM25's smoothed inverse document frequency over `docs` (always > 0)."""
    df = np.zeros(vocabulary, dtype=np.float32)
    for doc in docs:
        ids = np.unique(doc.ids)
        df[ids[ids < vocabulary]] += 1
    n = len(docs)
    return np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)


def query_weights(query: TokenVectors, idf: np.ndarray) -> np.ndarray:
    """The question's word pieces weighted by IDF, summing to 1 (a piece beyond the table counts as
    the rarest)."""
    inside = (query.ids >= 0) & (query.ids < idf.size)
    rarest = float(idf.max(initial=0.0))
    weights = np.where(inside, idf[np.where(inside, query.ids, 0)], rarest).astype(np.float32)
    total = float(weights.sum())
    return weights / total if total > 0 else np.full(len(weights), 1 / max(len(weights), 1), np.float32)


def maxsim(query: TokenVectors, weights: np.ndarray, docs: Sequence[TokenVectors]) -> np.ndarray:
    """Per text, the weighted mean over the question's word pieces of their best cosine in the text."""
    out = np.zeros(len(docs), dtype=np.float32)
    keep = [row for row, doc in enumerate(docs) if len(doc.ids)]
    if not len(query.ids) or not keep:
        return out
    lengths = np.fromiter((len(docs[r].ids) for r in keep), dtype=np.int64, count=len(keep))
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    matrix = np.concatenate([docs[r].vectors for r in keep]).astype(np.float32)
    sims = query.vectors.astype(np.float32) @ matrix.T  # (query pieces, all text pieces)
    best = np.maximum.reduceat(sims, starts, axis=1)  # (query pieces, texts)
    out[keep] = weights @ best
    return out
