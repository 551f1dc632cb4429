"""The analysis result, the backend protocol and the module's one error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

LANGUAGES = ("en", "zh")


class SentimentError(ValueError):
    """Bad input to the analyser (empty text, unknown language)."""


@dataclass(frozen=True)
class Analysis:
    """Label: negative/neutral/positive; score = P(pos) - P(neg) in [-1, 1]; confidence = P(label)."""

    label: str
    score: float
    confidence: float
    language: str


class Backend(Protocol):
    """Turns texts of one language into probabilities over (negative, neutral, positive)."""

    name: str

    def probabilities(self, texts: list[str], language: str) -> np.ndarray:
        """Shape (len(texts), 3), rows sum to 1."""
        ...
