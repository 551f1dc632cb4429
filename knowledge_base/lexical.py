"""Lexical signal: BM25 over words (English) and jieba words plus character bigrams (Chinese)."""

from __future__ import annotations

import logging
import re

import jieba
import numpy as np
from rank_bm25 import BM25Okapi

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
    """BM25 over a list of documents, with scores scaled to [0, 1]."""

    def __init__(self, documents: list[str], *, k1: float = 1.2, b: float = 0.75) -> None:
        if not documents:
            raise ValueError("a lexical index needs at least one document")
        self.k1 = k1
        self._bm25 = BM25Okapi([tokenize(d) or ["\x00"] for d in documents], k1=k1, b=b)
        n = self._bm25.corpus_size
        self._unseen_idf = float(np.log((n + 0.5) / 0.5))

    def scores(self, query: str) -> np.ndarray:
        """One score per document: BM25 divided by what a document matching every query term once scores.

        FAQ texts are short, so one occurrence at average length is the realistic ceiling. Dividing by
        the query's own ceiling rather than by the best document keeps a weak best match weak, so the
        score can feed a confidence.
        """
        terms = tokenize(query)
        raw = np.asarray(self._bm25.get_scores(terms), dtype=np.float32) if terms else None
        if raw is None:
            return np.zeros(self._bm25.corpus_size, dtype=np.float32)
        # A term no document contains is as rare as it gets: it must count in the ceiling, or a query
        # matching one common word out of many would look like a perfect match.
        ceiling = sum(max(self._bm25.idf.get(t, self._unseen_idf), 0.0) for t in terms)
        if ceiling <= 0:
            return np.zeros_like(raw)
        return np.clip(raw / ceiling, 0.0, 1.0)
