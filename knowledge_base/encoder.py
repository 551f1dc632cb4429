"""What the knowledge base needs of a sentence encoder (`kefu_core.encoding.embedder.Embedder` is one).

Tests pass a small deterministic fake instead (tests/knowledge_base/fakes.py), so the index, the score
fusion, the rerank and the decision can be tested without loading a model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from kefu_core.encoding.tokens import TokenVectors


class Encoder(Protocol):
    """Texts to L2-normalised float32 vectors and, where `supports_tokens`, word-piece vectors."""

    @property
    def model_path(self) -> Path:
        """The model's folder (the vector store's fingerprint and manifest name it)."""
        ...

    @property
    def dimension(self) -> int:
        """Length of one vector."""
        ...

    @property
    def supports_tokens(self) -> bool:
        """Whether `encode_tokens` and `encode_query` can give word-piece vectors."""
        ...

    @property
    def vocabulary(self) -> int:
        """Word-piece ids are below this."""
        ...

    def encode(self, texts: list[str]) -> np.ndarray:
        """Vectors for `texts`, shape (len(texts), dimension)."""
        ...

    def encode_tokens(self, texts: list[str]) -> tuple[np.ndarray, list[TokenVectors]]:
        """Sentence vectors and each text's word-piece vectors."""
        ...

    def encode_query(self, text: str) -> tuple[np.ndarray, TokenVectors]:
        """One question's vector, shape (1, dimension), and its word pieces."""
        ...
