"""One classifier per language over [MiniLM embedding | hand-made features | n-gram TF-IDF]."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from sentiment.features import chinese_words, dense_features, marked_tokens

LABELS = ("negative", "neutral", "positive")
SEED = 13


@dataclass(frozen=True)
class Design:
    """The knobs, chosen by cross-validation on our own messages (`sentiment.train.cross_validate`).

    Word n-grams are negation-marked words for English and jieba's words for Chinese.
    """

    c: float = 2.0
    embed_weight: float = 1.0
    dense_weight: float = 1.0
    word_ngrams: tuple[int, int] | None = (1, 2)
    char_ngrams: tuple[int, int] | None = None


DESIGNS = {
    # With VADER's summed valences the hand-made block weighs less: 0.75 gave 0.915 (1.0: 0.907, 1.5: 0.902).
    "en": Design(c=4.0, embed_weight=1.0, dense_weight=0.75, word_ngrams=(1, 2), char_ngrams=None),
    # jieba's single words beside character 1-3-grams: cross-validation 0.883 -> 0.900 (word pairs 0.891).
    "zh": Design(c=4.0, embed_weight=0.5, dense_weight=1.0, word_ngrams=(1, 1), char_ngrams=(1, 3)),
}


def _word_vectorizer(language: str, ngrams: tuple[int, int]) -> TfidfVectorizer:
    tokenizer = chinese_words if language == "zh" else marked_tokens
    return TfidfVectorizer(
        tokenizer=tokenizer, lowercase=False, token_pattern=None, ngram_range=ngrams, sublinear_tf=True
    )


def _char_vectorizer(ngrams: tuple[int, int]) -> TfidfVectorizer:
    return TfidfVectorizer(analyzer="char", ngram_range=ngrams, sublinear_tf=True, lowercase=True, min_df=1)


@dataclass
class LanguageModel:
    """A fitted classifier for one language; `proba` columns follow LABELS."""

    language: str
    design: Design
    vectorizers: list[TfidfVectorizer] = field(default_factory=list)
    classifier: LogisticRegression | None = None

    def _matrix(self, texts: list[str], vectors: np.ndarray, *, fit: bool) -> sparse.csr_matrix:
        blocks = [
            sparse.csr_matrix(vectors * self.design.embed_weight),
            sparse.csr_matrix(dense_features(texts, self.language) * self.design.dense_weight),
        ]
        for vectorizer in self.vectorizers:
            blocks.append(vectorizer.fit_transform(texts) if fit else vectorizer.transform(texts))
        return sparse.hstack(blocks, format="csr")

    def fit(self, texts: list[str], labels: list[str], vectors: np.ndarray) -> LanguageModel:
        """Fit the vectorizers and the classifier (deterministic: fixed seed, lbfgs)."""
        self.vectorizers = []
        if self.design.word_ngrams:
            self.vectorizers.append(_word_vectorizer(self.language, self.design.word_ngrams))
        if self.design.char_ngrams:
            self.vectorizers.append(_char_vectorizer(self.design.char_ngrams))
        matrix = self._matrix(texts, vectors, fit=True)
        y = np.array([LABELS.index(label) for label in labels])
        self.classifier = LogisticRegression(
            C=self.design.c, max_iter=3000, class_weight="balanced", random_state=SEED
        )
        self.classifier.fit(matrix, y)
        return self

    def proba(self, texts: list[str], vectors: np.ndarray) -> np.ndarray:
        """P(negative), P(neutral), P(positive) per text."""
        if self.classifier is None:
            raise RuntimeError("the sentiment model is not trained")
        raw = _softmax(self._logits(texts, vectors))
        out = np.zeros((len(texts), len(LABELS)), dtype=np.float64)
        out[:, self.classifier.classes_] = raw
        return out

    def _logits(self, texts: list[str], vectors: np.ndarray) -> np.ndarray:
        """The classifier's decision function, block by block: the same numbers as building the stacked
        sparse matrix and calling `predict_proba`, without its copies and input checks."""
        assert self.classifier is not None
        coef, design = self.classifier.coef_, self.design
        dense = dense_features(texts, self.language)
        width_v, width_d = vectors.shape[1], dense.shape[1]
        logits = (vectors * design.embed_weight) @ coef[:, :width_v].T
        logits += (dense * design.dense_weight) @ coef[:, width_v : width_v + width_d].T
        offset = width_v + width_d
        for vectorizer in self.vectorizers:
            width = len(vectorizer.vocabulary_)
            logits += tfidf_scores(vectorizer, texts, coef[:, offset : offset + width])
            offset += width
        logits = logits + self.classifier.intercept_
        if logits.shape[1] == 1:  # two classes: sklearn keeps one column for the second class
            logits = np.hstack([-logits, logits]) / 2
        return np.asarray(logits, dtype=np.float64)


def tfidf_scores(vectorizer: TfidfVectorizer, texts: list[str], coef: np.ndarray) -> np.ndarray:
    """`vectorizer.transform(texts) @ coef.T` for the vectorizers fitted here (sublinear tf, idf, l2 norm),
    computed per text from its n-gram counts: sklearn's transform spends about 0.9 ms a call on checks
    and matrix set-up, more than the rest of a message's features together (tests check both agree)."""
    analyse, vocabulary, idf = vectorizer.build_analyzer(), vectorizer.vocabulary_, vectorizer.idf_
    out = np.zeros((len(texts), coef.shape[0]), dtype=np.float64)
    for row, text in enumerate(texts):
        counts = Counter(j for j in map(vocabulary.get, analyse(text)) if j is not None)
        if not counts:
            continue
        columns = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
        weights = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
        weights *= idf[columns]
        weights /= np.linalg.norm(weights)
        out[row] = coef[:, columns] @ weights
    return out


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return np.asarray(shifted / shifted.sum(axis=1, keepdims=True))
