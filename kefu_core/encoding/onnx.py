"""MiniLM through ONNX Runtime: the same vectors as sentence-transformers, faster for single messages.

The graph is exported from the model folder once, checked against torch, and cached under
`var/models/onnx/<fingerprint>/`; an int8 copy serves sentiment and the Rasa featurizer. Tokenising uses the
model's own `tokenizer.json` (no torch), so this module loads in Rasa's environment too. Only a transformer
followed by mean pooling qualifies. Measurements and the choices: docs/decisions/0006-onnx-encoder.md.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from kefu_core.encoding.tokens import TokenVectors, from_hidden

log = logging.getLogger(__name__)

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# The int8 copy's name says how it was quantised: a change of method is a new file (and a new
# sentiment model, whose cache key records this name).
INT8_NAME = "int8-per-channel"
# What a process without the model folder or torch (the Rasa server's featurizer) needs to embed:
# the int8 graph and the model's tokenizer and settings, side by side in the export folder.
BUNDLE_GRAPH = f"model-{INT8_NAME}.onnx"
BUNDLE_FILES = (BUNDLE_GRAPH, "tokenizer.json", "config.json", "sentence_bert_config.json")
# Tolerance of the check run after every export: ONNX and torch agree to about 1e-7.
EXPORT_TOLERANCE = 1e-4
_export_lock = threading.Lock()


def plain_mean_pooling(model_path: Path) -> bool:
    """Whether the model folder is a transformer + mean pooling (+ normalise), read from its files."""
    try:
        modules = json.loads((model_path / "modules.json").read_text())
        types = [m["type"].rsplit(".", 1)[-1] for m in modules]
        if types[:2] != ["Transformer", "Pooling"] or any(t != "Normalize" for t in types[2:]):
            return False
        pooling = json.loads((model_path / modules[1]["path"] / "config.json").read_text())
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return False
    # sentence-transformers 5 and earlier write one flag per mode; 6 (which `kefu kb adapt` saves with)
    # writes `"pooling_mode": "mean"`.
    named = pooling.get("pooling_mode")
    if named is not None:
        return named in ("mean", ["mean"])
    modes = [key for key, value in pooling.items() if key.startswith("pooling_mode") and value is True]
    return modes == ["pooling_mode_mean_tokens"]


def max_seq_length(model_path: Path) -> int:
    """The word pieces the model reads (sentence-transformers' `max_seq_length`, 256 for MiniLM): from
    `sentence_bert_config.json`, else the tokenizer's limit (where sentence-transformers 6 keeps it)."""
    for name, key in (
        ("sentence_bert_config.json", "max_seq_length"),
        ("tokenizer_config.json", "model_max_length"),
    ):
        try:
            value = int(json.loads((model_path / name).read_text())[key])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if 0 < value < 100_000:  # tokenizers without a limit say 10^30
            return value
    return int(json.loads((model_path / "config.json").read_text()).get("max_position_embeddings", 512))


def onnx_cache_dir() -> Path:
    """Where exported graphs are kept (under the runtime data folder)."""
    from kefu_core.paths import var_dir

    return var_dir() / "models" / "onnx"


def export(model_path: Path, out: Path) -> None:
    """Export the folder's transformer to `out` (one .onnx file), checked against torch; atomic."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_path), local_files_only=True)
    model = AutoModel.from_pretrained(str(model_path), local_files_only=True).eval()

    class LastHidden(torch.nn.Module):
        """Keyword inputs in a fixed order: the exporter passes positional arguments."""

        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    sample = ["a warm-up sentence for the exporter", "短句"]
    batch = tokenizer(sample, padding=True, return_tensors="pt")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with torch.inference_mode():
            expected = model(**batch).last_hidden_state.numpy()
        with warnings.catch_warnings():
            # The exporter warns about how it maps indexing to ONNX; the comparison below is the check.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                LastHidden(),
                tuple(batch[name] for name in INPUTS),
                str(tmp),
                input_names=list(INPUTS),
                output_names=["last_hidden_state"],
                dynamic_axes={name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "last_hidden_state")},
                opset_version=17,
                dynamo=False,  # the TorchScript exporter: one self-contained file, no onnxscript needed
            )
        session = _session(tmp)
        got = session.run(None, {name: batch[name].numpy().astype(np.int64) for name in INPUTS})[0]
        if not np.allclose(got, expected, atol=EXPORT_TOLERANCE):
            raise RuntimeError(
                f"exported graph disagrees with torch (max diff {np.abs(got - expected).max():.2e})"
            )
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def _session(path: Path, threads: int = 1) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Idle pool threads sleep instead of spinning: the other core serves Rasa and the next request.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def quantise(source: Path, out: Path) -> None:
    """An int8-weight copy of `source` (dynamic quantisation, per channel); atomic."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = out.with_name(f".{out.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        # Per output channel: one scale per weight column keeps short messages close to full precision
        # (cosine min 0.95 over 500 messages; one scale per tensor let "thank you so much!" drop to 0.78).
        quantize_dynamic(str(source), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def ensure_onnx(model_path: Path, fingerprint: str, *, int8: bool = False) -> Path:
    """The cached graph for this model (full precision, or int8 weights), exported now if missing."""
    folder = onnx_cache_dir() / fingerprint
    full = folder / "model.onnx"
    out = folder / f"model-{INT8_NAME}.onnx" if int8 else full
    if not out.is_file():
        with _export_lock:
            if not full.is_file():
                log.info("exporting the embedding model to ONNX (once): %s", full)
                export(model_path, full)
            if int8 and not out.is_file():
                quantise(full, out)
    return out


def ensure_bundle(model_path: Path) -> Path:
    """The export folder holding BUNDLE_FILES for this model (exported and copied now if missing)."""
    from kefu_core.encoding.fingerprint import model_fingerprint

    if not plain_mean_pooling(model_path):
        raise ValueError("the model is not a transformer with mean pooling")
    graph = ensure_onnx(model_path, model_fingerprint(model_path), int8=True)
    for name in BUNDLE_FILES[1:]:
        target = graph.parent / name
        if not target.is_file():
            tmp = target.with_name(f".{name}.{os.getpid()}.tmp")
            shutil.copyfile(model_path / name, tmp)
            os.replace(tmp, target)
    return graph.parent


def default_threads() -> int:
    """`KEFU_ONNX_THREADS`, else both cores (one message: 8 word pieces take 5.6 ms on one, 3.9 on two)."""
    value = os.environ.get("KEFU_ONNX_THREADS", "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"KEFU_ONNX_THREADS must be a positive whole number, not {value!r}")
        return int(value)
    return min(2, os.cpu_count() or 1)


class OnnxEncoder:
    """Texts -> L2-normalised mean-pooled vectors through ONNX Runtime."""

    def __init__(self, model_path: Path, onnx_path: Path, *, threads: int | None = None) -> None:
        from tokenizers import Tokenizer

        self.onnx_path = onnx_path
        self.tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_seq_length(model_path))
        self.tokenizer.no_padding()
        self.unknown_token = "[UNK]"
        self.session = _session(onnx_path, threads or default_threads())
        self.dimension = int(json.loads((model_path / "config.json").read_text())["hidden_size"])
        self.encode(["warm up"])  # ONNX Runtime's first run allocates and plans: not in a customer's turn

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Vectors for `texts` in their order; batches of similar length, so little padding is run."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for rows, _, hidden, mask in self._batches(texts, batch_size):
            out[rows] = _pool(hidden, mask)
        return out

    def unknown_share(self, texts: list[str]) -> np.ndarray:
        """Per text, the share of its word pieces the vocabulary does not know (all-MiniLM-L6-v2 knows
        few Chinese characters: "麻烦了" and "被坑了" are both three [UNK]s, and get the same vector)."""
        return self._unknown(self.tokenizer.encode_batch(texts))

    def encode_with_unknown(self, texts: list[str], batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """`encode` and `unknown_share` from one tokenisation (the featurizer needs both per message)."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        unknown = np.zeros(len(texts), dtype=np.float32)
        for rows, encodings, hidden, mask in self._batches(texts, batch_size):
            out[rows] = _pool(hidden, mask)
            unknown[rows] = self._unknown(encodings)
        return out, unknown

    def _unknown(self, encodings: list[Any]) -> np.ndarray:
        unk = self.tokenizer.token_to_id(self.unknown_token)
        special = {self.tokenizer.token_to_id(t) for t in ("[CLS]", "[SEP]")} - {None}
        out = np.zeros(len(encodings), dtype=np.float32)
        for row, encoding in enumerate(encodings):
            pieces = [i for i in encoding.ids if i not in special]
            if pieces and unk is not None:
                out[row] = sum(1 for i in pieces if i == unk) / len(pieces)
        return out

    def encode_tokens(self, texts: list[str], batch_size: int = 64) -> tuple[np.ndarray, list[TokenVectors]]:
        """Sentence vectors (as `encode`) and each text's word-piece vectors, from one forward pass."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        tokens: dict[int, TokenVectors] = {}
        for rows, encodings, hidden, mask in self._batches(texts, batch_size):
            out[rows] = _pool(hidden, mask)
            for at, (row, encoding) in enumerate(zip(rows, encodings, strict=True)):
                tokens[row] = from_hidden(hidden[at], encoding.ids)
        return out, [tokens[row] for row in range(len(texts))]

    def _batches(
        self, texts: list[str], batch_size: int
    ) -> Iterator[tuple[list[int], list[Any], np.ndarray, np.ndarray]]:
        """(rows, their encodings, last hidden state, attention mask) per batch of similar lengths."""
        encodings = self.tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            batch = [encodings[i] for i in rows]
            yield (rows, batch, *self._forward(batch))

    def _forward(self, encodings: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        """The last hidden state of a padded batch, and its attention mask."""
        width = max(len(e.ids) for e in encodings)
        feeds = {name: np.zeros((len(encodings), width), dtype=np.int64) for name in INPUTS}
        for row, encoding in enumerate(encodings):
            n = len(encoding.ids)
            feeds["input_ids"][row, :n] = encoding.ids
            feeds["attention_mask"][row, :n] = 1
            feeds["token_type_ids"][row, :n] = encoding.type_ids
        return self.session.run(None, feeds)[0], feeds["attention_mask"]


def _pool(hidden: np.ndarray, attention: np.ndarray) -> np.ndarray:
    """Mean over each text's word pieces, L2-normalised (sentence-transformers' mean pooling)."""
    mask = attention[..., None].astype(np.float32)
    pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
    norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
    return (pooled / norms).astype(np.float32)


def open_encoder(model_path: Path, *, int8: bool = False, threads: int | None = None) -> OnnxEncoder:
    """The ONNX Runtime encoder for a model folder, exported on first use; raises when it cannot serve it."""
    from kefu_core.encoding.fingerprint import model_fingerprint

    if not plain_mean_pooling(model_path):
        raise ValueError("the model is not a transformer with mean pooling")
    if not (model_path / "tokenizer.json").is_file():
        raise ValueError("the model folder has no tokenizer.json")
    path = ensure_onnx(model_path, model_fingerprint(model_path), int8=int8)
    return OnnxEncoder(model_path, path, threads=threads)
