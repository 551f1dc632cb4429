"""Word-piece rerank: the fused leader keeps its score, the others move by how much better they match."""

from __future__ import annotations

import numpy as np
import pytest

from knowledge_base import rerank as rerank_module
from knowledge_base.fusion import Fused
from knowledge_base.rerank import rerank
from tests.knowledge_base.fakes import pieces

E1, E2, E3 = [1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]
QUERY = pieces([1, 2], E1, E2)  # two word pieces, equally rare below
IDF = np.ones(8, np.float32)


def _fused(scores: list[float], rows_per_candidate: list[list[int]], cosines: list[float]) -> Fused:
    counts = np.asarray([len(r) for r in rows_per_candidate], np.int64)
    return Fused(
        faq_ids=[f"e{i}" for i in range(len(scores))],
        scores=np.asarray(scores, np.float32),
        rows=np.concatenate([np.asarray(r, np.int64) for r in rows_per_candidate]),
        starts=np.concatenate(([0], np.cumsum(counts)[:-1])),
        counts=counts,
        cosines=np.asarray(cosines, np.float32),
    )


# Row 0 meets one of the question's two pieces, row 1 both, row 2 neither.
ROWS = [pieces([1], E1), pieces([1, 2], E1, E2), pieces([3], E3)]


def test_the_leader_keeps_its_score_and_a_better_match_overtakes_it() -> None:
    fused = _fused([0.7, 0.65, 0.6], [[0], [1], [2]], [0.9, 0.8, 0.7])
    rerank(fused, QUERY, ROWS, IDF, 1.0)
    # Leader matched 0.5; the others move by their match minus 0.5, clipped to [0, 1].
    np.testing.assert_allclose(fused.scores, [0.7, 1.0, 0.1], atol=1e-3)


def test_the_weight_scales_the_move() -> None:
    fused = _fused([0.7, 0.65, 0.6], [[0], [1], [2]], [0.9, 0.8, 0.7])
    rerank(fused, QUERY, ROWS, IDF, 0.2)
    np.testing.assert_allclose(fused.scores, [0.7, 0.75, 0.5], atol=1e-3)


def test_only_the_best_few_entries_move(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rerank_module, "RERANK", 2)
    fused = _fused([0.6, 0.65, 0.7], [[2], [1], [0]], [0.7, 0.8, 0.9])  # the leader is the last
    rerank(fused, QUERY, ROWS, IDF, 1.0)
    assert fused.scores[0] == pytest.approx(0.6)  # third by fused score: not read
    np.testing.assert_allclose(fused.scores[1:], [1.0, 0.7], atol=1e-3)


def test_each_entry_is_read_by_its_texts_closest_to_the_question(monkeypatch: pytest.MonkeyPatch) -> None:
    # The second entry's well-matching text (row 1) is its farther one by sentence cosine.
    fused = _fused([0.7, 0.65], [[0], [2, 1]], [0.9, 0.8, 0.3])
    rerank(fused, QUERY, ROWS, IDF, 1.0)
    assert fused.scores[1] == pytest.approx(1.0, abs=1e-3)  # both texts read
    monkeypatch.setattr(rerank_module, "RERANK_TEXTS", 1)
    fused = _fused([0.7, 0.65], [[0], [2, 1]], [0.9, 0.8, 0.3])
    rerank(fused, QUERY, ROWS, IDF, 1.0)
    assert fused.scores[1] == pytest.approx(0.15, abs=1e-3)  # only row 2, which meets nothing


def test_a_question_without_word_pieces_changes_nothing() -> None:
    fused = _fused([0.7, 0.65], [[0], [1]], [0.9, 0.8])
    rerank(fused, pieces([]), ROWS, IDF, 1.0)
    np.testing.assert_array_equal(fused.scores, np.asarray([0.7, 0.65], np.float32))
