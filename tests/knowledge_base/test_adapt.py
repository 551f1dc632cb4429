"""`kefu kb adapt`: fine-tuning the embedder on the knowledge base's own variants."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.orm import Session

from kefu.bootstrap import prepare_database
from kefu_core.db import make_engine
from kefu_core.encoding.embedder import Embedder, default_model_path
from knowledge_base import curation
from knowledge_base.adapt import adapt
from knowledge_base.retriever import EntryDoc

KEFU = str(Path(sys.executable).parent / "kefu")

pytestmark = pytest.mark.integration  # fine-tunes the real model
TOPICS = {
    "lost-card": ["I lost my card", "my card is missing", "can't find my bank card"],
    "fx-rate": ["what exchange rate do you use", "currency conversion rate", "how is the FX rate set"],
    "top-up": ["how do I top up", "add money to my account", "load funds onto the wallet"],
    "refund": ["I want a refund", "return my money please", "how do refunds work"],
    "pin": ["change my PIN", "reset the card PIN", "new PIN number"],
    "fees": ["are there fees", "what do you charge", "hidden charges on transfers"],
}


def _entries() -> list[EntryDoc]:
    return [EntryDoc(k, v[0], "a", "en", None, tuple(v[1:])) for k, v in TOPICS.items()]


def _separation(embedder: Embedder) -> float:
    """Mean similarity of texts of one entry minus that of texts of different entries."""
    texts = [t for v in TOPICS.values() for t in v]
    labels = np.repeat(np.arange(len(TOPICS)), 3)
    vectors = embedder.encode(texts)
    sims = vectors @ vectors.T
    same = (labels[:, None] == labels[None, :]) & ~np.eye(len(texts), dtype=bool)
    other = labels[:, None] != labels[None, :]
    return float(sims[same].mean() - sims[other].mean())


def test_adapting_pulls_an_entrys_texts_together(tmp_path: Path) -> None:
    out = tmp_path / "adapted"
    steps: list[int] = []
    report = adapt(
        _entries(), default_model_path(), out, epochs=4, learning_rate=1e-4,
        progress=lambda step, total: steps.append(step),
    )  # fmt: skip
    assert report.steps == 4 and steps == [1, 2, 3, 4]
    assert json.loads((out / "kefu-adapt.json").read_text())["texts"] == 18
    assert _separation(Embedder(out)) > _separation(Embedder()) + 0.01
    # The adapted model (saved by sentence-transformers 6, which names its pooling differently) is
    # still served by ONNX Runtime with the same vectors as torch, and has word-piece vectors.
    onnx, torch = Embedder(out, runtime="onnx"), Embedder(out, runtime="torch")
    assert onnx.supports_tokens and onnx.onnx is not None
    np.testing.assert_allclose(onnx.encode(["I lost my card"]), torch.encode(["I lost my card"]), atol=1e-4)
    assert onnx.onnx.tokenizer.truncation["max_length"] == 256  # the limit sentence-transformers reads


def test_nothing_to_learn_is_a_clear_error(tmp_path: Path) -> None:
    lonely = [
        EntryDoc("a", "only a question", "x", "en", None),
        EntryDoc("b", "another one", "y", "en", None),
    ]
    with pytest.raises(ValueError, match="no entry has two or more texts"):
        adapt(lonely, default_model_path(), tmp_path / "m")


def test_cli_adapt_saves_a_model_the_settings_can_name(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    prepare_database(url, seed=False, demo_users=False)
    engine = make_engine(url)
    with Session(engine) as session:
        for faq_id, texts in TOPICS.items():
            data = {"id": faq_id, "question": texts[0], "variants": texts[1:], "answer": "a",
                    "language": "en", "status": "published"}  # fmt: skip
            curation.create(session, data=data, author_id=None)
        session.commit()
    engine.dispose()
    out = tmp_path / "model"
    env = {**os.environ, "DATABASE_URL": url, "KEFU_VAR_DIR": str(tmp_path)}
    done = subprocess.run(
        [KEFU, "kb", "adapt", "--epochs", "1", "--out", str(out)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    assert f"KEFU_EMBEDDING_MODEL={out}" in done.stdout
    assert Embedder(out).encode(["hello"]).shape == (1, 384)
