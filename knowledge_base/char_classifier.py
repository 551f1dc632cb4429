"""A per-language classifier over character n-grams of an entry's own texts (question + variants).

The shipped MiniLM is English-only; for Chinese, which entry a paraphrase belongs to is carried by its
characters. A logistic regression on char 1-2-gram TF-IDF, trained on the knowledge base's own texts
when the index is built (a second or two), ranks Chinese paraphrases far better than the embedding.
"""

from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression


class CharClassifier:
    """P(entry | text) from character n-grams; trained on (text, entry position) pairs."""

    def __init__(self, texts: list[str], owners: np.ndarray, n_entries: int, *, c: float = 10.0) -> None:
        if n_entries < 2:
            raise ValueError("a classifier needs at least two entries")
        self.n_entries = n_entries
        self._vectorizer = TfidfVectorizer(
            analyzer="char", ngram_range=(1, 2), sublinear_tf=True, lowercase=True
        )
        features = self._vectorizer.fit_transform(texts)
        self._model = LogisticRegression(C=c, max_iter=2000)
        self._model.fit(features, owners)

    def probabilities(self, query: str) -> np.ndarray:
        """One probability per entry position (0 for entries the model never saw)."""
        probs = self._model.predict_proba(self._vectorizer.transform([query]))[0]
        out = np.zeros(self.n_entries, dtype=np.float32)
        out[self._model.classes_] = probs
        return out
