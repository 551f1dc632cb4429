"""A deterministic stand-in for the sentence encoder: the retriever's parts tested without a model."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np

from kefu_core.encoding.tokens import TokenVectors

_WORD = re.compile(r"[a-z0-9]+|[\u3400-\u4dbf\u4e00-\u9fff]")  # an English word, or one Han character


def words(text: str) -> list[str]:
    """The fake's word pieces: lower-cased English words and single Han characters."""
    return _WORD.findall(text.lower())


def _digest(word: str) -> int:
    return int.from_bytes(hashlib.sha256(word.encode("utf-8")).digest()[:8], "little")


class HashEncoder:
    """Hashed bag of words: each word a fixed random unit vector, a text the normalised sum of its words'.

    Texts sharing words are close and texts sharing none are nearly orthogonal, the same on every run.
    A word piece's id is its hash modulo `vocabulary`, its vector the word's own (no context).
    """

    def __init__(self, dimension: int = 256, *, vocabulary: int = 4096, supports_tokens: bool = True) -> None:
        self.model_path = Path("hash-encoder")
        self._dimension = dimension
        self._vocabulary = vocabulary
        self._supports_tokens = supports_tokens
        self.batches: list[list[str]] = []  # every list of texts embedded, in order
        self.queries: list[str] = []  # every text given to encode_query

    @property
    def dimension(self) -> int:
        """Length of one vector."""
        return self._dimension

    @property
    def supports_tokens(self) -> bool:
        """Whether word pieces are given (as the constructor was told)."""
        return self._supports_tokens

    @property
    def vocabulary(self) -> int:
        """Word-piece ids are below this."""
        return self._vocabulary

    def word_vector(self, word: str) -> np.ndarray:
        """The word's unit vector (float32)."""
        vector = np.random.default_rng(_digest(word)).standard_normal(self._dimension)
        return (vector / np.linalg.norm(vector)).astype(np.float32)

    def _one(self, text: str) -> tuple[np.ndarray, TokenVectors]:
        pieces = words(text)
        matrix = (
            np.stack([self.word_vector(w) for w in pieces])
            if pieces
            else np.zeros((0, self._dimension), np.float32)
        )
        total = matrix.sum(axis=0) if pieces else np.zeros(self._dimension, np.float32)
        norm = float(np.linalg.norm(total))
        vector = (total / norm if norm > 0 else total).astype(np.float32)
        ids = np.asarray([_digest(w) % self._vocabulary for w in pieces], dtype=np.int32)
        return vector, TokenVectors(ids, matrix.astype(np.float16))

    def encode(self, texts: list[str]) -> np.ndarray:
        """Vectors for `texts`, shape (len(texts), dimension)."""
        self.batches.append(list(texts))
        if not texts:
            return np.zeros((0, self._dimension), np.float32)
        return np.stack([self._one(t)[0] for t in texts])

    def encode_tokens(self, texts: list[str]) -> tuple[np.ndarray, list[TokenVectors]]:
        """Sentence vectors and word pieces for `texts`."""
        if not self._supports_tokens:
            raise ValueError("this fake was made without word pieces")
        self.batches.append(list(texts))
        done = [self._one(t) for t in texts]
        vectors = np.stack([v for v, _ in done]) if done else np.zeros((0, self._dimension), np.float32)
        return vectors, [p for _, p in done]

    def encode_query(self, text: str) -> tuple[np.ndarray, TokenVectors]:
        """One question's vector, shape (1, dimension), and its word pieces."""
        self.queries.append(text)
        vector, pieces = self._one(text)
        return vector[None, :], pieces

    @property
    def embedded(self) -> list[str]:
        """Every text passed to `encode` or `encode_tokens` so far, in order."""
        return [t for batch in self.batches for t in batch]


def unit(*rows: list[float]) -> np.ndarray:
    """Rows scaled to unit length (float32)."""
    matrix = np.asarray(rows, dtype=np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def pieces(ids: list[int], *rows: list[float]) -> TokenVectors:
    """A text's word pieces: these ids with these (normalised) vectors."""
    matrix = unit(*rows) if rows else np.zeros((0, 0), np.float32)
    return TokenVectors(np.asarray(ids, dtype=np.int32), matrix.astype(np.float16))
