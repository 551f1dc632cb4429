"""A per-language classifier over an entry's own texts (question + variants): P(entry | query).

Nearest-neighbour scoring looks at one variant at a time; a classifier trained on all of an entry's
texts learns which words and character runs set it apart from its neighbours. For Chinese, which the
shipped MiniLM ranks poorly, character 1-2-grams carry it. For English, character 2-4-grams inside
word boundaries beside the MiniLM vector (scaled up, so that a handful of variants per entry still
count). What each design gained: docs/decisions/0002-faq-score-fusion-and-rerank.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression


@dataclass(frozen=True)
class ClassifierDesign:
    """Which features one language's classifier reads."""

    analyzer: str = "char"
    ngram_range: tuple[int, int] = (1, 2)
    embed_scale: float = 0.0  # 0: the sentence vector is not a feature
    c: float = 10.0
    # The weights are entries × features: the vocabulary is capped to its most frequent n-grams.
    max_features: int = 30_000


DESIGNS = {
    "zh": ClassifierDesign(analyzer="char", ngram_range=(1, 2), embed_scale=0.0),
    "en": ClassifierDesign(analyzer="char_wb", ngram_range=(2, 4), embed_scale=2.0),
}


class EntryClassifier:
    """Logistic regression on TF-IDF n-grams (and optionally the text's vector); one class per entry."""

    def __init__(
        self,
        texts: list[str],
        owners: np.ndarray,
        n_entries: int,
        *,
        vectors: np.ndarray | None = None,
        design: ClassifierDesign | None = None,
    ) -> None:
        if n_entries < 2:
            raise ValueError("a classifier needs at least two entries")
        self.n_entries = n_entries
        self.design = design or ClassifierDesign()
        if self.design.embed_scale and vectors is None:
            raise ValueError("this classifier design reads sentence vectors: pass `vectors`")
        self._vectorizer = TfidfVectorizer(
            analyzer=self.design.analyzer,
            ngram_range=self.design.ngram_range,
            sublinear_tf=True,
            lowercase=True,
            max_features=self.design.max_features,
        )
        features = self._features(self._vectorizer.fit_transform(texts), vectors)
        model = LogisticRegression(C=self.design.c, max_iter=2000)
        model.fit(features, owners)
        # One query at a time, sklearn's input checks cost more than the arithmetic: keep the fitted
        # numbers and score by hand, as sklearn would (tests/knowledge_base/test_entry_classifier.py).
        self._analyse = self._vectorizer.build_analyzer()
        self._vocabulary: dict[str, int] = self._vectorizer.vocabulary_
        self._idf = np.asarray(self._vectorizer.idf_, dtype=np.float64)
        n_ngrams = len(self._idf)
        coef = np.asarray(model.coef_, dtype=np.float64)
        if coef.shape[0] == 1:  # two classes: sklearn keeps one row, for the second class
            coef = np.vstack([-coef, coef]) / 2
            intercept = np.array([-model.intercept_[0], model.intercept_[0]]) / 2
        else:
            intercept = np.asarray(model.intercept_, dtype=np.float64)
        # float32 halves the largest part of the index's memory; probabilities move by < 1e-6.
        self._coef_ngrams = np.ascontiguousarray(coef[:, :n_ngrams].T, dtype=np.float32)  # (n-grams, classes)
        self._coef_vector = np.ascontiguousarray(coef[:, n_ngrams:].T, dtype=np.float32)  # (dims, classes)
        self._intercept = intercept
        self._classes = np.asarray(model.classes_)

    def _features(self, ngrams: sparse.spmatrix, vectors: np.ndarray | None) -> sparse.csr_matrix:
        if not self.design.embed_scale or vectors is None:
            return sparse.csr_matrix(ngrams)
        return sparse.hstack([ngrams, sparse.csr_matrix(vectors * self.design.embed_scale)], format="csr")

    @property
    def reads_vectors(self) -> bool:
        """Whether `probabilities` needs the query's vector."""
        return bool(self.design.embed_scale)

    def probabilities(self, query: str, vector: np.ndarray | None = None) -> np.ndarray:
        """One probability per entry position (0 for entries the model never saw)."""
        if self.reads_vectors and vector is None:
            raise ValueError("this classifier reads the query's vector")
        logits = self._intercept.copy()
        counts: dict[int, int] = {}
        for gram in self._analyse(query):
            column = self._vocabulary.get(gram)
            if column is not None:
                counts[column] = counts.get(column, 0) + 1
        if counts:
            columns = np.fromiter(counts, dtype=np.int64, count=len(counts))
            weights = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64))) * self._idf[columns]
            weights /= np.linalg.norm(weights)
            logits += weights.astype(np.float32) @ self._coef_ngrams[columns]
        if self.reads_vectors and vector is not None:
            logits += (np.asarray(vector, dtype=np.float32) * self.design.embed_scale) @ self._coef_vector
        logits -= logits.max()
        probs = np.exp(logits)
        probs /= probs.sum()
        out = np.zeros(self.n_entries, dtype=np.float32)
        out[self._classes] = probs
        return out
