"""The two backends: the default (shared MiniLM + our features + our classifier) and transformers."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sentiment.features import MAX_CHARS, MAX_EMBED_CHARS, normalise
from sentiment.model import LABELS, LanguageModel
from sentiment.types import SentimentError

if TYPE_CHECKING:
    from sentiment.encoder import SentenceEncoder

log = logging.getLogger("kefu.sentiment")


class DefaultBackend:
    """MiniLM vectors (int8 through ONNX Runtime, see sentiment.encoder), with our features, to our model."""

    name = "default"

    def __init__(self, encoder: SentenceEncoder, models: dict[str, LanguageModel]) -> None:
        self.encoder = encoder
        self.models = models

    @classmethod
    def load(cls, embedding_model: str | Path | None = None, *, root: Path | None = None) -> DefaultBackend:
        """Load the cached model for this encoder, training it first when it is missing."""
        from sentiment.encoder import sentence_encoder
        from sentiment.train import ensure_model, load_models

        encoder = sentence_encoder(embedding_model)
        path, trained = ensure_model(
            encoder.encode, embedding_model=embedding_model, encoder=encoder.name, root=root
        )
        if trained:
            log.info("sentiment model was missing and has been trained: %s", path)
        return cls(encoder, load_models(path))

    def probabilities(self, texts: list[str], language: str) -> np.ndarray:
        """Per-text probabilities over LABELS."""
        model = self.models[language]
        cleaned = [normalise(t) for t in texts]
        vectors = self.encoder.encode([t[: MAX_EMBED_CHARS[language]] for t in cleaned])
        return model.proba(cleaned, vectors)


def _label_index(name: str) -> int | None:
    """Which of LABELS a model's label name means ("NEG", "negative", "1 star"...)."""
    lowered = name.lower()
    for index, prefix in enumerate(("neg", "neu", "pos")):
        if lowered.startswith(prefix):
            return index
    return None


class TransformersBackend:
    """Any local Hugging Face sequence-classification model (two labels: negative/positive, or three)."""

    name = "transformers"

    def __init__(self, model_path: str | Path, *, max_length: int = 256) -> None:
        path = Path(model_path)
        if not path.is_dir():
            raise FileNotFoundError(f"sentiment model folder not found: {path}")
        # Never reach for the hub: a deployment's model is a folder on disk.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self._torch = torch
        self.tokenizer: Any = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self.model: Any = AutoModelForSequenceClassification.from_pretrained(str(path), local_files_only=True)
        self.model.eval()
        self.max_length = max_length
        self._lock = threading.Lock()
        self.columns = self._columns(self.model.config.id2label)

    @staticmethod
    def _columns(id2label: dict[int, str]) -> list[int]:
        """For each model output, the LABELS index it maps to."""
        n = len(id2label)
        named = [_label_index(str(id2label[i])) for i in range(n)]
        if all(index is not None for index in named) and len(set(named)) == n:
            return [int(index) for index in named if index is not None]
        # Unnamed (LABEL_0...): the usual order, negative first.
        if n == 3:
            return [0, 1, 2]
        if n == 2:
            return [0, 2]
        raise SentimentError(f"a sentiment model needs 2 or 3 labels, this one has {n}")

    def probabilities(self, texts: list[str], language: str) -> np.ndarray:
        """Per-text probabilities over LABELS (a two-label model never says neutral)."""
        batch = self.tokenizer(
            [t[:MAX_CHARS] for t in texts],
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )
        with self._lock, self._torch.inference_mode():
            logits = self.model(**batch).logits
        raw = self._torch.softmax(logits.float(), dim=-1).numpy()
        out = np.zeros((len(texts), len(LABELS)), dtype=np.float64)
        for column, index in enumerate(self.columns):
            out[:, index] += raw[:, column]
        return out
