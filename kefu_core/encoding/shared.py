"""One MiniLM pass per customer message: the int8 vector crm_bridge computes for sentiment is handed to Rasa's
sentence featurizer in the message's metadata, so Rasa does not run the same graph on the same text again.

The vector travels with the name of what made it (a hash of the graph file's bytes and the ONNX Runtime
version) and a hash of the exact text it was computed from: the featurizer uses it only when both match its
own and the message it is featurizing, else it encodes as before (the same numbers either way).
Only numpy, onnxruntime and the standard library: this module loads in Rasa's environment too.
Why and what it saves: docs/decisions/0018-one-encoding-per-turn.md.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

METADATA_KEY = "kefu_sentence_vector"
RECENT_SIZE = 256  # texts remembered per encoder: 384 float32 each, 0.4 MB in all
_ids: dict[tuple[str, int, int], str] = {}
_ids_lock = threading.Lock()


def graph_id(path: Path) -> str:
    """The identity of what computes a vector: a hash of the ONNX graph file's bytes (the same graph copied
    into a Rasa model has the same hash) and the ONNX Runtime version running it. The version counts: the
    app's 1.30 and Rasa's 1.23 give the same int8 graph different numbers (cosine down to 0.987 over 400
    test messages), so the featurizer takes crm_bridge's vector only when both run the same release.
    Remembered per path, size and modification time."""
    import onnxruntime

    return f"{_file_hash(path)}-ort{onnxruntime.__version__}"


def _file_hash(path: Path) -> str:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _ids_lock:
        if key not in _ids:
            digest = hashlib.sha256()
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            _ids[key] = digest.hexdigest()[:16]
        return _ids[key]


def text_id(text: str) -> str:
    """A hash of the exact text a vector was computed from."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def pack(vector: np.ndarray, unknown_share: float, *, graph: str, text: str) -> dict[str, Any]:
    """The metadata value carrying one message's vector (float32, little-endian, base64: exact numbers)."""
    data = np.ascontiguousarray(vector, dtype="<f4").tobytes()
    return {
        "graph": graph,
        "text": text_id(text),
        "unknown": float(unknown_share),
        "vector": base64.b64encode(data).decode("ascii"),
    }


def unpack(payload: Any, *, graph: str, text: str, dimension: int) -> tuple[np.ndarray, float] | None:
    """The vector and unknown-piece share in `payload` when it was made by `graph` from exactly `text`
    and has `dimension` numbers; None otherwise (the caller then encodes the text itself)."""
    if not isinstance(payload, dict) or payload.get("graph") != graph or payload.get("text") != text_id(text):
        return None
    try:
        raw = base64.b64decode(str(payload["vector"]), validate=True)
        unknown = float(payload["unknown"])
    except (KeyError, ValueError, TypeError):
        return None
    if len(raw) != 4 * dimension or not 0.0 <= unknown <= 1.0:
        return None
    vector = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    if not np.all(np.isfinite(vector)):
        return None
    return vector, unknown


class RememberingEncoder:
    """Wraps an encoder of one graph: vectors of the last RECENT_SIZE single texts are kept with their
    unknown-piece share, so the same text's vector can be handed on (`recall`) without a second pass."""

    def __init__(
        self,
        encode_with_unknown: Callable[[list[str]], tuple[np.ndarray, np.ndarray]],
        graph: str,
        *,
        size: int = RECENT_SIZE,
    ) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self._encode_with_unknown = encode_with_unknown
        self.graph = graph
        self.size = size
        self._recent: OrderedDict[str, tuple[np.ndarray, float]] = OrderedDict()
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        """Vectors for `texts`, exactly as the wrapped encoder gives them; a single text is remembered."""
        vectors, unknown = self._encode_with_unknown(texts)
        if len(texts) == 1:  # a customer's message; batches are training and evaluation
            kept = vectors[0].copy()
            kept.setflags(write=False)
            with self._lock:
                self._recent[texts[0]] = (kept, float(unknown[0]))
                self._recent.move_to_end(texts[0])
                while len(self._recent) > self.size:
                    self._recent.popitem(last=False)
        return vectors

    def recall(self, text: str) -> dict[str, Any] | None:
        """The metadata value for `text` when its vector was computed recently, else None."""
        with self._lock:
            found = self._recent.get(text)
        if found is None:
            return None
        vector, unknown = found
        return pack(vector, unknown, graph=self.graph, text=text)

    def __len__(self) -> int:
        with self._lock:
            return len(self._recent)
