"""ONNX Runtime embeds exactly as sentence-transformers does, is cached once, and falls back cleanly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kefu_core.encoding import onnx as onnx_encoder
from kefu_core.encoding.embedder import Embedder, configured_runtime, default_model_path

TEXTS = [
    "Where is my parcel?",
    "",
    "我的快递什么时候到？",
    "😀👍",
    "Mixed 中英文 message with an URL http://example.com/x?y=1",
    "refund " * 400,  # longer than the model's 256 word pieces: truncated the same way
    "I can't log in!!!",
]


@pytest.fixture(scope="module")
def torch_embedder() -> Embedder:
    return Embedder(runtime="torch")


@pytest.fixture(scope="module")
def onnx_embedder() -> Embedder:
    return Embedder(runtime="onnx")


def test_the_same_vectors_as_torch(torch_embedder: Embedder, onnx_embedder: Embedder) -> None:
    assert onnx_embedder.onnx is not None and torch_embedder.onnx is None
    assert onnx_embedder.dimension == torch_embedder.dimension == 384
    for texts in ([t] for t in TEXTS):  # one at a time, as a chat turn embeds
        assert np.abs(onnx_embedder.encode(texts) - torch_embedder.encode(texts)).max() < 1e-5
    bulk = [f"question {i}: " + "where is my order " * (i % 7) for i in range(150)] + TEXTS
    got, expected = onnx_embedder.onnx.encode(bulk, batch_size=16), torch_embedder.encode(bulk)
    assert got.shape == expected.shape == (len(bulk), 384)
    assert np.abs(got - expected).max() < 1e-5  # batches are sorted by length, rows come back in order
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_single_messages_use_onnx_and_bulk_work_uses_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    model = Embedder(runtime="auto")
    assert model.onnx is not None
    model.encode(["one message"])
    assert model._model is None  # torch has not loaded the model for a chat turn's message
    calls: list[int] = []
    real = model.onnx.encode_tokens

    def spy(texts: list[str], batch_size: int = 64) -> Any:
        calls.append(len(texts))
        return real(texts, batch_size)

    monkeypatch.setattr(model.onnx, "encode_tokens", spy)  # a message's vector comes with its word pieces
    model.encode(["two", "messages"])
    model.encode([f"entry {i}" for i in range(20)])
    assert calls == [2] and model._model is not None


def test_the_int8_copy_is_close_and_cached() -> None:
    from kefu_core.encoding.fingerprint import model_fingerprint

    path = onnx_encoder.ensure_onnx(default_model_path(), model_fingerprint(default_model_path()), int8=True)
    assert (
        path.name == f"model-{onnx_encoder.INT8_NAME}.onnx" and path.stat().st_size < 40_000_000
    )  # int8: a quarter of 90 MB
    int8 = onnx_encoder.OnnxEncoder(default_model_path(), path, threads=1)
    full = Embedder(runtime="torch")
    texts = ["My parcel never arrived", "thank you so much!", "退款什么时候到账"]
    cosine = (int8.encode(texts) * full.encode(texts)).sum(axis=1)
    assert cosine.min() > 0.93


def test_the_export_is_cached(onnx_embedder: Embedder, monkeypatch: pytest.MonkeyPatch) -> None:
    assert onnx_embedder.onnx is not None
    cached = list(onnx_encoder.onnx_cache_dir().glob("*/model.onnx"))
    assert cached, "the exported graph is kept under var/models/onnx/"

    def no_export(*_: object) -> None:
        raise AssertionError("exported twice")

    monkeypatch.setattr(onnx_encoder, "export", no_export)
    monkeypatch.setattr(onnx_encoder, "quantise", no_export)
    again = Embedder(runtime="onnx")
    assert again.onnx is not None and again.encode(["hi"]).shape == (1, 384)


def _cls_pooling_copy(tmp_path: Path) -> Path:
    model = tmp_path / "cls-model"
    shutil.copytree(default_model_path(), model)
    config = model / "1_Pooling" / "config.json"
    pooling = json.loads(config.read_text())
    pooling.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    config.write_text(json.dumps(pooling))
    return model


def test_other_pooling_falls_back_to_torch(tmp_path: Path) -> None:
    model = _cls_pooling_copy(tmp_path)
    assert onnx_encoder.plain_mean_pooling(default_model_path())
    assert not onnx_encoder.plain_mean_pooling(model)
    auto = Embedder(model, runtime="auto")
    assert auto.onnx is None
    assert auto.encode(["hello"]).shape == (1, 384)  # torch serves it
    with pytest.raises(RuntimeError, match="ONNX Runtime cannot serve"):
        _ = Embedder(model, runtime="onnx").onnx


def test_the_runtime_setting_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEFU_EMBEDDING_RUNTIME", "Torch")
    assert configured_runtime() == "torch"
    assert Embedder().onnx is None
    monkeypatch.setenv("KEFU_EMBEDDING_RUNTIME", "tensorflow")
    with pytest.raises(ValueError, match="KEFU_EMBEDDING_RUNTIME must be one of"):
        Embedder()
    monkeypatch.setenv("KEFU_ONNX_THREADS", "two")
    with pytest.raises(ValueError, match="KEFU_ONNX_THREADS must be a positive whole number"):
        onnx_encoder.default_threads()
    monkeypatch.setenv("KEFU_ONNX_THREADS", "1")
    assert onnx_encoder.default_threads() == 1


def test_the_bundle_holds_what_the_rasa_featurizer_reads() -> None:
    folder = onnx_encoder.ensure_bundle(default_model_path())
    assert all((folder / name).is_file() for name in onnx_encoder.BUNDLE_FILES)
    # An encoder built from the bundle alone gives the int8 vectors sentiment uses.
    from_bundle = onnx_encoder.OnnxEncoder(folder, folder / onnx_encoder.BUNDLE_GRAPH, threads=1)
    from_model = onnx_encoder.open_encoder(default_model_path(), int8=True, threads=1)
    texts = ["where is my parcel", "我要退货"]
    assert np.allclose(from_bundle.encode(texts), from_model.encode(texts), atol=1e-6)


def test_unknown_word_pieces_are_counted() -> None:
    folder = onnx_encoder.ensure_bundle(default_model_path())
    encoder = onnx_encoder.OnnxEncoder(folder, folder / onnx_encoder.BUNDLE_GRAPH, threads=1)
    share = encoder.unknown_share(["where is my parcel", "麻烦了", "cancel订单", ""])
    assert share[0] == 0.0  # English words are all known
    assert share[1] == 1.0  # the English model knows none of these characters
    assert 0.5 < share[2] < 1.0  # one known word, two unknown characters
    assert share[3] == 0.0  # nothing to count
