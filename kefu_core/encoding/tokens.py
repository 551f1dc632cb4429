"""One text's word-piece vectors, as the encoders produce them for word-piece matching."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TokenVectors:
    """One text's word pieces (without [CLS]/[SEP]): vocabulary ids and unit vectors (float16)."""

    ids: np.ndarray  # int32, (n,)
    vectors: np.ndarray  # float16, (n, dimension)


def from_hidden(hidden: np.ndarray, ids: Sequence[int]) -> TokenVectors:
    """A text's token outputs (its rows of the last hidden state, [CLS] ... [SEP]) as TokenVectors."""
    inner = np.asarray(hidden[1 : len(ids) - 1], dtype=np.float32)
    norms = np.maximum(np.linalg.norm(inner, axis=1, keepdims=True), 1e-12)
    return TokenVectors(np.asarray(ids[1 : len(ids) - 1], dtype=np.int32), (inner / norms).astype(np.float16))
