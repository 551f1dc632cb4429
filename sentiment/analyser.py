"""The one interface: analyse(text, language) -> Analysis; one analyser per process."""

from __future__ import annotations

import threading

import numpy as np

from sentiment.model import LABELS
from sentiment.types import LANGUAGES, Analysis, Backend, SentimentError


class Analyser:
    """Validates input, picks the language and turns a backend's probabilities into an Analysis."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def analyse(self, text: str, language: str | None = None) -> Analysis:
        """Label, score and confidence for one message."""
        return self.analyse_many([text], language)[0]

    def analyse_many(self, texts: list[str], language: str | None = None) -> list[Analysis]:
        """Analyses for a batch (`language` applies to all; detected per text when None)."""
        from kefu_core.language import detect_language

        for text in texts:
            if not isinstance(text, str) or not text.strip():
                raise SentimentError("text must not be empty")
        if language is not None and language not in LANGUAGES:
            raise SentimentError(f"language must be one of {', '.join(LANGUAGES)}")
        languages = [language or detect_language(t) for t in texts]
        results: list[Analysis | None] = [None] * len(texts)
        for lang in set(languages):
            idx = [i for i, code in enumerate(languages) if code == lang]
            probs = self.backend.probabilities([texts[i] for i in idx], lang)
            for row, i in zip(probs, idx, strict=True):
                results[i] = _to_analysis(row, lang)
        return [r for r in results if r is not None]


def _to_analysis(probs: np.ndarray, language: str) -> Analysis:
    best = int(np.argmax(probs))
    score = float(np.clip(probs[2] - probs[0], -1.0, 1.0))
    return Analysis(
        label=LABELS[best], score=round(score, 4), confidence=round(float(probs[best]), 4), language=language
    )


_lock = threading.Lock()
_analysers: dict[tuple[str, str], Analyser] = {}


def build_backend(backend: str, model_path: str = "", embedding_model: str = "") -> Backend:
    """The backend a setting names (`default` or `transformers`)."""
    if backend == "transformers":
        if not model_path:
            raise SentimentError("KEFU_SENTIMENT_MODEL_PATH must name a local model folder for this backend")
        from sentiment.backends import TransformersBackend

        return TransformersBackend(model_path)
    if backend != "default":
        raise SentimentError(f"unknown sentiment backend {backend!r} (use default or transformers)")
    from sentiment.backends import DefaultBackend

    return DefaultBackend.load(embedding_model or None)


def get_analyser() -> Analyser:
    """The process's analyser for the configured backend (built once; first use may train the model)."""
    from kefu_core.settings import get_settings

    settings = get_settings()
    key = (settings.sentiment_backend, settings.sentiment_model_path)
    with _lock:
        if key not in _analysers:
            _analysers[key] = Analyser(
                build_backend(
                    settings.sentiment_backend, settings.sentiment_model_path, settings.embedding_model
                )
            )
        return _analysers[key]


def analyse(text: str, language: str | None = None) -> Analysis:
    """Sentiment of one message with the configured backend."""
    return get_analyser().analyse(text, language)
