"""The default model's cache: trained once per content hash, reused, retrained on --force or new data."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from sentiment.analyser import Analyser
from sentiment.backends import DefaultBackend
from sentiment.train import DATA_DIR, cache_key, ensure_model, load_examples, load_models


def fake_embed(texts: list[str]) -> np.ndarray:
    """Deterministic stand-in vectors (the real MiniLM is tested elsewhere; here the cache is)."""
    rows = [np.frombuffer(hashlib.sha256(t.encode()).digest() * 12, dtype=np.uint8)[:384] for t in texts]
    return (np.array(rows, dtype=np.float32) - 127.5) / 127.5


def test_trained_once_then_reused(tmp_path: Path) -> None:
    path, trained = ensure_model(fake_embed, embedding_model="fake", root=tmp_path)
    assert trained and path.exists() and path.parent.name == cache_key(embedding_model="fake")
    stamp = path.stat().st_mtime_ns
    again, trained_again = ensure_model(fake_embed, embedding_model="fake", root=tmp_path)
    assert again == path and not trained_again and path.stat().st_mtime_ns == stamp
    _, forced = ensure_model(fake_embed, embedding_model="fake", root=tmp_path, force=True)
    assert forced
    models = load_models(path)
    assert set(models) == {"en", "zh"}


def test_new_data_or_another_embedding_model_is_a_new_key(tmp_path: Path) -> None:
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    assert cache_key(copy) == cache_key()
    with (copy / "en.jsonl").open("a", encoding="utf-8") as handle:
        handle.write('{"text": "The courier was lovely.", "label": "positive"}\n')
    assert cache_key(copy) != cache_key()
    assert cache_key(embedding_model="another") != cache_key()


def test_extra_files_of_a_language_are_training_data(tmp_path: Path) -> None:
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    before = len(load_examples("en", copy))
    (copy / "en_reviews.jsonl").write_text('{"text": "Five stars, fast.", "label": "positive"}\n')
    assert len(load_examples("en", copy)) == before + 1
    assert cache_key(copy) != cache_key()
    assert "zh_voice.jsonl" in {p.name for p in DATA_DIR.iterdir()}
    (copy / "en_bad.jsonl").write_text('{"text": "meh", "label": "so-so"}\n')
    with pytest.raises(ValueError, match=r"en_bad\.jsonl:1"):
        load_examples("en", copy)


def test_the_real_backend_loads_what_was_cached(tmp_path: Path) -> None:
    first = DefaultBackend.load(root=tmp_path)
    files = list(tmp_path.rglob("model.joblib"))
    assert len(files) == 1
    stamp = files[0].stat().st_mtime_ns
    second = Analyser(DefaultBackend.load(root=tmp_path))  # no second training
    assert files[0].stat().st_mtime_ns == stamp
    assert second.analyse("Thanks, that fixed it!").label == "positive"
    assert first.models.keys() == {"en", "zh"}
    assert first.encoder.name == "onnx-int8-per-channel"  # ONNX Runtime serves MiniLM here
    assert files[0].parent.name == cache_key(encoder="onnx-int8-per-channel")


def test_each_encoder_has_its_own_model() -> None:
    assert cache_key(encoder="onnx-int8-per-channel") != cache_key(encoder="torch")
    assert cache_key(encoder="torch") == cache_key()


def test_torch_only_setting_uses_the_shared_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    from kefu_core.encoding import embedder as embedder_module
    from sentiment.encoder import sentence_encoder

    monkeypatch.setenv("KEFU_EMBEDDING_RUNTIME", "torch")
    monkeypatch.setattr(embedder_module, "_shared", {})  # a fresh shared embedder reads the setting
    encoder = sentence_encoder()
    assert encoder.name == "torch"
    assert encoder.encode(["hello"]).shape == (1, 384)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_scoring_by_hand_equals_sklearn(tmp_path: Path, n_classes: int) -> None:
    from sentiment.model import LABELS
    from sentiment.train import load_examples, train_language

    for language in ("en", "zh"):
        examples = load_examples(language, DATA_DIR)
        if n_classes == 2:
            examples = [e for e in examples if e.label != "neutral"]
        model = train_language(language, examples, fake_embed)
        texts = ["not bad at all 👍", "太差了，再也不买", "ok", "where is my parcel?"]
        vectors = fake_embed(texts)
        assert model.classifier is not None
        expected = np.zeros((len(texts), len(LABELS)))
        expected[:, model.classifier.classes_] = model.classifier.predict_proba(
            model._matrix(texts, vectors, fit=False)
        )
        assert np.allclose(model.proba(texts, vectors), expected, atol=1e-9)
