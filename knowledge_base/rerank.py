"""Word-piece rerank: the best fused entries reordered by how well their texts meet the question's words.

The leader keeps its score, so the scale the thresholds were calibrated on stays, and an entry overtakes
it only by matching the question's words clearly better (see `token_match` for the matching).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kefu_core.encoding.tokens import TokenVectors
from knowledge_base.fusion import Fused
from knowledge_base.token_match import maxsim, query_weights

# The best RERANK entries are reordered, each read by its RERANK_TEXTS texts closest to the question (by
# sentence cosine): word-piece matching costs far more per text than a cosine.
RERANK = 5
RERANK_TEXTS = 8


def rerank(
    fused: Fused, pieces: TokenVectors, row_pieces: Sequence[TokenVectors], idf: np.ndarray, weight: float
) -> None:
    """Move the best RERANK entries' scores (in `fused.scores`, in place) by how much better or worse
    their texts meet the question's word pieces (`pieces`) than the fused leader's do, times `weight`
    and clipped to [0, 1]. `row_pieces` and `idf` are the index's, in row order."""
    if not len(pieces.ids):
        return
    scores = fused.scores
    top = np.argsort(-scores, kind="stable")[:RERANK]
    picked: list[int] = []  # rows of the texts read, candidate by candidate
    owner: list[int] = []
    for position, candidate in enumerate(top.tolist()):
        start, n = int(fused.starts[candidate]), int(fused.counts[candidate])
        nearest = np.argsort(-fused.cosines[start : start + n], kind="stable")[:RERANK_TEXTS]
        picked.extend(int(fused.rows[start + j]) for j in nearest)
        owner.extend([position] * len(nearest))
    matched = maxsim(pieces, query_weights(pieces, idf), [row_pieces[r] for r in picked])
    best = np.full(len(top), -np.inf, dtype=np.float32)
    np.maximum.at(best, np.asarray(owner), matched)
    moved = scores[top] + weight * (best - best[0])
    scores[top] = np.clip(moved, 0.0, 1.0)
