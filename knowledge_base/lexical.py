"""Lexical signal: BM25 over words (English) and jieba words plus character bigrams (Chinese)."""

from __future__ import annotations

import logging
import math
import re

import bm25s
import jieba
import numpy as np

jieba.setLogLevel(logging.WARNING)

_TOKEN = re.compile(r"[A-Za-z0-9]+|[\u3400-\u4dbf\u4e00-\u9fff]+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
_EN_STOP = frozenset(
    {
        "a",
        "an",
        "the",
        "is",
        "are",
        "was",
        "were",
        "be",
        "to",
        "of",
        "and",
        "or",
        "in",
        "on",
        "at",
        "for",
        "do",
        "does",
        "did",
        "i",
        "my",
        "me",
        "you",
        "your",
        "it",
        "this",
        "that",
        "can",
        "could",
        "how",
        "what",
        "when",
        "where",
        "why",
        "which",
        "will",
        "would",
        "should",
        "please",
        "pls",
    }
)


def tokenize(text: str) -> list[str]:
    """Tokens for BM25: lower-cased English words, jieba words and Han character bigrams."""
    tokens: list[str] = []
    for chunk in _TOKEN.findall(text.lower()):
        if _HAN.fullmatch(chunk):
            tokens.extend(w for w in jieba.lcut(chunk) if w.strip())
            # Bigrams give partial credit where jieba segments a paraphrase differently.
            tokens.extend(chunk[i : i + 2] for i in range(len(chunk) - 1))
        elif chunk not in _EN_STOP:
            tokens.append(chunk)
    return tokens


class LexicalIndex:
    """BM25 (bm25s, Robertson's formula) over tokenised documents, with scores scaled to [0, 1]."""

    def __init__(self, documents: list[str], *, k1: float = 1.2, b: float = 0.75) -> None:
        self._fit([tokenize(d) for d in documents], k1=k1, b=b)

    @classmethod
    def from_tokens(cls, documents: list[list[str]], *, k1: float = 1.2, b: float = 0.75) -> LexicalIndex:
        """An index over documents tokenised already (the retriever keeps each text's tokens)."""
        index = cls.__new__(cls)
        index._fit(documents, k1=k1, b=b)
        return index

    def _fit(self, documents: list[list[str]], *, k1: float, b: float) -> None:
        if not documents:
            raise ValueError("a lexical index needs at least one document")
        self.k1 = k1
        self.n_docs = len(documents)
        self._bm25 = bm25s.BM25(k1=k1, b=b, method="robertson", idf_method="robertson")
        # An empty document gets a placeholder token: bm25s needs one token per document.
        self._bm25.index([d or ["\x00"] for d in documents], show_progress=False)
        df = np.diff(np.asarray(self._bm25.scores["indptr"]))
        n = self.n_docs
        self._idf = {
            token: max(math.log((n - df[i] + 0.5) / (df[i] + 0.5)), 0.0)
            for token, i in self._bm25.vocab_dict.items()
            if i < len(df)
        }
        self._unseen_idf = math.log((n + 0.5) / 0.5)
        # With one or two texts (or texts sharing every word) no term has a positive IDF and BM25 scores
        # everything 0: a one-entry base could then never answer in Chinese. Score by term overlap there.
        self._overlap = None if any(v > 0 for v in self._idf.values()) else [set(d) for d in documents]

    def scores(self, query: str) -> np.ndarray:
        """One score per document: BM25 divided by what a document matching every query term once scores.

        FAQ texts are short, so one occurrence at average length is the realistic ceiling. Dividing by
        the query's own ceiling rather than by the best document keeps a weak best match weak, so the
        score can feed a confidence.
        """
        terms = tokenize(query)
        if self._overlap is not None:
            distinct = set(terms)
            if not distinct:
                return np.zeros(self.n_docs, dtype=np.float32)
            return np.asarray([len(distinct & d) / len(distinct) for d in self._overlap], dtype=np.float32)
        # A term no document contains is as rare as it gets: it must count in the ceiling, or a query
        # matching one common word out of many would look like a perfect match.
        ceiling = sum(self._idf.get(t, self._unseen_idf) for t in terms) / (self.k1 + 1)
        ids = self._bm25.get_tokens_ids(terms)
        if ceiling <= 0 or not ids:
            return np.zeros(self.n_docs, dtype=np.float32)
        raw = np.asarray(self._bm25.get_scores_from_ids(ids), dtype=np.float32)
        return np.clip(raw / ceiling, 0.0, 1.0)
