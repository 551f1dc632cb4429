"""What turns a message into a vector for sentiment: MiniLM with int8 weights through ONNX Runtime.

Sentiment runs on every customer message, so its embedding must be cheap (docs/decisions/0006);
the classifier is trained on the same int8 vectors it later sees. Where ONNX Runtime cannot serve
the model (another pooling, `KEFU_EMBEDDING_RUNTIME=torch`) the process's shared embedder is used,
and the cache key keeps the two apart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from kefu_core.encoding.shared import RememberingEncoder

log = logging.getLogger("kefu.sentiment")


@dataclass(frozen=True)
class SentenceEncoder:
    """An encode function and the name the trained model's cache key records for it."""

    encode: Callable[[list[str]], np.ndarray]
    name: str
    # The int8 encoder remembers each message's vector, so Rasa's featurizer is handed it (one pass).
    remembering: RememberingEncoder | None = None


def sentence_encoder(embedding_model: str | Path | None = None) -> SentenceEncoder:
    """The int8 ONNX encoder of the embedding model where possible, else the shared embedder."""
    from kefu_core.encoding.embedder import shared_embedder
    from kefu_core.encoding.onnx import INT8_NAME, open_encoder
    from kefu_core.encoding.shared import RememberingEncoder, graph_id

    embedder = shared_embedder(embedding_model or None)
    if embedder.runtime != "torch":
        try:
            # One thread: a short message gains nothing from a second, and the other core is free.
            encoder = open_encoder(embedder.model_path, int8=True, threads=1)
            # The same graph file Rasa's featurizer carries (`kefu model ensure` bundles it), one thread
            # as there: the numbers are the featurizer's own, so it can take them instead of encoding.
            remembering = RememberingEncoder(encoder.encode_with_unknown, graph_id(encoder.onnx_path))
            return SentenceEncoder(remembering.encode, f"onnx-{INT8_NAME}", remembering)
        except Exception as exc:  # a missing package or a failed export: the shared embedder still works
            if embedder.runtime == "onnx":
                raise
            log.warning("sentiment embeds with torch: ONNX Runtime not usable (%s)", exc)
    return SentenceEncoder(embedder.encode, "torch")
