"""The per-language entry classifiers: character n-grams for Chinese, n-grams plus the vector for English."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from knowledge_base.entry_classifier import DESIGNS, EntryClassifier
from knowledge_base.retriever import DEFAULT_THRESHOLDS


def test_ranks_a_chinese_paraphrase_to_its_entry() -> None:
    texts = ["退货需要多久", "退货要几天", "运费多少钱", "邮费怎么算", "怎么修改密码", "忘记密码了"]
    owners = np.array([0, 0, 1, 1, 2, 2])
    clf = EntryClassifier(texts, owners, 3, design=DESIGNS["zh"])
    probs = clf.probabilities("退货大概几天")
    assert probs.shape == (3,)
    assert int(probs.argmax()) == 0
    assert probs.sum() == pytest.approx(1.0, abs=1e-5)
    assert int(clf.probabilities("密码忘了怎么办").argmax()) == 2


def test_english_design_reads_the_sentence_vector() -> None:
    texts = ["cancel my order", "stop my purchase", "track my parcel", "where is my package"]
    owners = np.array([0, 0, 1, 1])
    # Vectors that alone tell the entries apart: the n-grams of the query share nothing with either.
    vectors = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], dtype=np.float32)
    clf = EntryClassifier(texts, owners, 2, vectors=vectors, design=DESIGNS["en"])
    assert clf.reads_vectors
    assert int(clf.probabilities("zzz", np.array([0, 1], dtype=np.float32)).argmax()) == 1
    assert int(clf.probabilities("zzz", np.array([1, 0], dtype=np.float32)).argmax()) == 0
    with pytest.raises(ValueError, match="vector"):
        clf.probabilities("cancel")


def test_entries_the_model_never_saw_get_zero() -> None:
    clf = EntryClassifier(["退货", "运费"], np.array([0, 2]), 3, design=DESIGNS["zh"])
    probs = clf.probabilities("退货")
    assert probs[1] == 0.0 and probs.shape == (3,)


def test_needs_two_entries() -> None:
    with pytest.raises(ValueError, match="two entries"):
        EntryClassifier(["a"], np.array([0]), 1)


def test_both_languages_fuse_a_classifier_by_default() -> None:
    assert DEFAULT_THRESHOLDS["zh"].classifier_weight > 0
    assert DEFAULT_THRESHOLDS["en"].classifier_weight > 0


def _sklearn_reference(
    texts: list[str], owners: np.ndarray, vectors: np.ndarray, language: str
) -> Callable[[str, np.ndarray | None], np.ndarray]:
    """The same design fitted and scored by sklearn's own pipeline (what the hand scoring must equal)."""
    design = DESIGNS[language]
    vectorizer = TfidfVectorizer(
        analyzer=design.analyzer,
        ngram_range=design.ngram_range,
        sublinear_tf=True,
        lowercase=True,
        max_features=design.max_features,
    )
    ngrams = vectorizer.fit_transform(texts)

    def features(block: sparse.spmatrix, rows: np.ndarray | None) -> sparse.csr_matrix:
        if not design.embed_scale or rows is None:
            return sparse.csr_matrix(block)
        return sparse.hstack([block, sparse.csr_matrix(rows * design.embed_scale)], format="csr")

    model = LogisticRegression(C=design.c, max_iter=2000).fit(features(ngrams, vectors), owners)

    def probabilities(query: str, vector: np.ndarray | None) -> np.ndarray:
        row = None if vector is None else vector.reshape(1, -1)
        raw = model.predict_proba(features(vectorizer.transform([query]), row))[0]
        out = np.zeros(owners.max() + 2)
        out[model.classes_] = raw
        return out

    return probabilities


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("n_entries", [2, 4])
def test_hand_scoring_matches_sklearn(language: str, n_entries: int) -> None:
    rng = np.random.default_rng(0)
    texts = [
        "cancel my order",
        "stop my purchase",
        "track my parcel",
        "where is my package",
        "退货需要多久",
        "退货要几天",
        "运费多少钱",
        "邮费怎么算",
    ][: 2 * n_entries]
    owners = np.repeat(np.arange(n_entries), 2)
    vectors = rng.standard_normal((len(texts), 8)).astype(np.float32)
    clf = EntryClassifier(texts, owners, n_entries + 1, vectors=vectors, design=DESIGNS[language])
    reference = _sklearn_reference(texts, owners, vectors, language)
    for query in ("cancel the parcel order", "退货运费", "nothing in common ✨", ""):
        vector = rng.standard_normal(8).astype(np.float32) if clf.reads_vectors else None
        np.testing.assert_allclose(clf.probabilities(query, vector), reference(query, vector), atol=1e-5)
