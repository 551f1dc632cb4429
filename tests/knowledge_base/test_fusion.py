"""Score fusion: candidates from each signal, each entry scored as its best text per signal."""

from __future__ import annotations

import numpy as np
import pytest

from kefu_core.encoding.tokens import TokenVectors
from knowledge_base import fusion
from knowledge_base.documents import EntryDoc
from knowledge_base.fusion import combine, fuse
from knowledge_base.index import LanguageIndex
from knowledge_base.thresholds import Thresholds
from tests.knowledge_base.fakes import unit

NO_CLASSIFIER = Thresholds(dense_weight=0.6)


def _index(texts: dict[str, list[tuple[str, list[float]]]]) -> LanguageIndex:
    """An index whose texts have the given vectors: {faq_id: [(text, vector), ...]}."""
    vectors = {text: unit(vector)[0] for rows in texts.values() for text, vector in rows}

    def embed(batch: list[str], total: int) -> tuple[np.ndarray, list[TokenVectors | None]]:
        return np.stack([vectors[t] for t in batch]), [None] * len(batch)

    index = LanguageIndex(dimension=len(next(iter(vectors.values()))))
    entries = [
        EntryDoc(f, rows[0][0], f"answer {f}", "en", None, tuple(t for t, _ in rows[1:]))
        for f, rows in texts.items()
    ]
    index.add_entries(entries, embed, approx_above=1000)
    index.reindex_rows()
    return index


def test_combine_weighs_the_clipped_cosine_against_bm25_then_the_classifier() -> None:
    th = Thresholds(dense_weight=0.8, classifier_weight=0.5)
    dense = np.asarray([1.2, -0.3, 0.5], np.float32)  # clipped to [0, 1]
    lexical = np.asarray([0.0, 1.0, 0.5], np.float32)
    plain = combine(dense, lexical, None, th)
    assert plain.dtype == np.float32
    np.testing.assert_allclose(plain, [0.8, 0.2, 0.5], atol=1e-6)
    with_probs = combine(dense, lexical, np.asarray([0.0, 1.0, 0.5], np.float32), th)
    np.testing.assert_allclose(with_probs, [0.4, 0.6, 0.5], atol=1e-6)


def test_an_entry_scores_as_its_best_text_per_signal() -> None:
    # "alpha" matches the query's vector, "beta" its words: different texts of one entry.
    index = _index(
        {
            "a": [("alpha", [1, 0, 0]), ("beta", [0, 1, 0])],
            "b": [("gamma", [0, 0, 1])],
        }
    )
    fused = fuse(index, "beta", unit([1, 0, 0]), NO_CLASSIFIER)
    assert fused is not None
    assert fused.faq_ids == ["a", "b"]  # sorted: ties break the same way every time
    assert fused.scores[0] == pytest.approx(1.0, abs=1e-5)  # best cosine 1 and best BM25 1
    assert fused.scores[1] == pytest.approx(0.0, abs=1e-5)
    # Where each candidate's rows sit, and their cosines to the query.
    for i, faq_id in enumerate(fused.faq_ids):
        start, n = int(fused.starts[i]), int(fused.counts[i])
        np.testing.assert_array_equal(fused.rows[start : start + n], index.entry_rows[faq_id])
    np.testing.assert_allclose(fused.cosines, index.row_vectors[fused.rows] @ unit([1, 0, 0])[0], atol=1e-6)


def test_candidates_come_from_each_signals_top(monkeypatch: pytest.MonkeyPatch) -> None:
    index = _index({"a": [("alpha", [1, 0, 0])], "b": [("beta", [0, 1, 0])], "c": [("gamma", [0, 0, 1])]})
    query, qvec = "beta", unit([1, 0.1, 0])
    assert fuse(index, query, qvec, NO_CLASSIFIER).faq_ids == ["a", "b", "c"]  # type: ignore[union-attr]
    monkeypatch.setattr(fusion, "CANDIDATES", 1)
    narrow = fuse(index, query, qvec, NO_CLASSIFIER)
    assert narrow is not None and narrow.faq_ids == ["a", "b"]  # dense's best and BM25's best only


class _FixedClassifier:
    def __init__(self, probs: list[float]) -> None:
        self.probs = np.asarray(probs, np.float32)

    def probabilities(self, query: str, vector: np.ndarray | None = None) -> np.ndarray:
        return self.probs


def test_the_classifier_nominates_and_weighs_in(monkeypatch: pytest.MonkeyPatch) -> None:
    index = _index({"a": [("alpha", [1, 0, 0])], "b": [("beta", [0, 1, 0])], "c": [("gamma", [0, 0, 1])]})
    index.install(_FixedClassifier([0.1, 0.1, 0.8]), ["a", "b", "c"])  # type: ignore[arg-type]
    monkeypatch.setattr(fusion, "CANDIDATES", 1)
    monkeypatch.setattr(fusion, "CLASSIFIER_CANDIDATES", 1)
    th = Thresholds(dense_weight=0.6, classifier_weight=0.5)
    fused = fuse(index, "beta", unit([1, 0, 0]), th)
    assert fused is not None and fused.faq_ids == ["a", "b", "c"]  # "c" only through the classifier
    np.testing.assert_allclose(
        fused.scores, [0.5 * 0.6 + 0.5 * 0.1, 0.5 * 0.4 + 0.5 * 0.1, 0.5 * 0.8], atol=1e-5
    )
