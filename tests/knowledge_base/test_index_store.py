"""The stored index: restarts embed nothing twice, edits re-index one entry, big bases go approximate."""

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
from kefu_core.encoding.embedder import shared_embedder
from knowledge_base import curation, runtime
from knowledge_base.retriever import EntryDoc, FaqRetriever
from knowledge_base.vector_cache import VectorCache

KEFU = str(Path(sys.executable).parent / "kefu")
QUESTIONS = [
    ("How long does delivery take?", "en"),
    ("退货需要多久？", "zh"),
    ("Can I pay with PayPal?", "en"),
]


@pytest.fixture()
def kb_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    prepare_database(url, demo_users=False)
    return url


def _answers(retriever: FaqRetriever) -> list[tuple[str, float, str]]:
    out: list[tuple[str, float, str]] = []
    for text, lang in QUESTIONS:
        result = retriever.search(text, language=lang)
        out.append((result.results[0].faq_id, result.results[0].score, result.decision))
    return out


@pytest.mark.integration
def test_a_restart_serves_the_same_results_without_embedding(kb_url: str, tmp_path: Path) -> None:
    root = tmp_path / "kb-index"
    engine = make_engine(kb_url)
    with Session(engine) as session:
        first = runtime.build_retriever(session, root=root)
        assert first.cache.embedded_total > 100  # the demo base: every question and variant
        before = _answers(first)
        again = runtime.build_retriever(session, root=root)
    engine.dispose()
    assert again.cache is not first.cache
    assert again.cache.embedded_total == 0  # every vector came from disk
    assert _answers(again) == before
    manifest = json.loads(next(root.glob("*/manifest.json")).read_text())
    assert manifest["source_version"] == first.source_version
    assert manifest["languages"]["en"]["entries"] == first.stats()["en"]["entries"]
    assert manifest["languages"]["en"]["index"] == "flat"


def test_a_torn_record_or_another_model_is_not_trusted(tmp_path: Path) -> None:
    cache = VectorCache("m1", 4, tmp_path)
    vectors, stats = cache.vectors(["a", "b"], lambda texts: np.ones((len(texts), 4)))
    assert stats.embedded == 2 and vectors.shape == (2, 4)
    records = tmp_path / "m1" / "vectors.bin"
    with records.open("ab") as fh:
        fh.write(b"\x01\x02\x03")  # a crash mid-append
    reloaded = VectorCache("m1", 4, tmp_path)
    assert len(reloaded) == 2
    _, stats = reloaded.vectors(["a", "b", "c"], lambda texts: np.zeros((len(texts), 4)))
    assert (stats.reused, stats.embedded) == (2, 1)
    _, stats = VectorCache("m1", 4, tmp_path).vectors(["c"], lambda texts: np.ones((len(texts), 4)))
    assert stats.reused == 1  # the torn bytes were cut on load: "c" lines up and is read back
    assert len(VectorCache("m2", 4, tmp_path)) == 0  # another model: its own folder


@pytest.mark.integration
def test_an_edit_reindexes_only_that_entry(kb_url: str, tmp_path: Path) -> None:
    engine = make_engine(kb_url)
    with Session(engine) as session:
        retriever = runtime.build_retriever(session, root=tmp_path / "kb-index")
        embedded = retriever.cache.embedded_total
        entry = curation.get_or_raise(session, "en-shipping-01")
        curation.update(
            session,
            entry=entry,
            changes={"variants": [*(v.text for v in entry.variants), "is my parcel carried by a llama"]},
            author_id=None,
        )
        session.commit()
        assert runtime.refresh(retriever, session) == 1
        assert retriever.cache.embedded_total == embedded + 1  # the one new variant, nothing else
        assert retriever.search("is my parcel carried by a llama", language="en").results[0].faq_id == (
            "en-shipping-01"
        )

        # Archived: out of the index at once. Moved to Chinese: out of English, into Chinese.
        curation.update(session, entry=entry, changes={"status": "archived"}, author_id=None)
        session.commit()
        runtime.refresh(retriever, session)
        assert "en-shipping-01" not in retriever.entry_ids("en")
        curation.update(
            session, entry=entry, changes={"status": "published", "language": "zh"}, author_id=None
        )
        session.commit()
        runtime.refresh(retriever, session)
        assert "en-shipping-01" in retriever.entry_ids("zh")
        assert "en-shipping-01" not in retriever.entry_ids("en")
    engine.dispose()


def _synthetic(n: int) -> list[EntryDoc]:
    rng = np.random.default_rng(3)
    words = ["parcel", "refund", "invoice", "voucher", "locker", "courier", "warranty", "battery", "size"]
    return [
        EntryDoc(
            faq_id=f"e{i}",
            question=f"question {i} about the {' '.join(rng.choice(words, 2))}",
            answer=f"answer {i}",
            language="en",
            category=None,
            variants=(f"variant {i} of the {words[i % len(words)]} topic",),
        )
        for i in range(n)
    ]


@pytest.mark.integration
def test_a_large_base_uses_an_approximate_index_that_still_updates(tmp_path: Path) -> None:
    retriever = FaqRetriever(shared_embedder(), approx_above=100)
    retriever.build(_synthetic(80))  # 160 texts > 100
    assert retriever.stats()["en"]["index"] == "ivf"
    assert retriever.search("question 17 about", language="en", k=5).results[0].faq_id == "e17"
    retriever.upsert([EntryDoc("e17", "where do penguins buy scarves", "at the pole", "en", None)])
    assert retriever.search("where do penguins buy scarves", language="en").results[0].faq_id == "e17"
    retriever.remove(["e17"])
    assert "e17" not in retriever.entry_ids("en")
    small = FaqRetriever(shared_embedder(), approx_above=100)
    small.build(_synthetic(20))
    assert small.stats()["en"]["index"] == "flat"


@pytest.mark.integration
def test_cli_reindex_rebuilds_the_store(tmp_path: Path, kb_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": kb_url, "KEFU_VAR_DIR": str(tmp_path)}
    done = subprocess.run([KEFU, "kb", "reindex"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert "en: 44 entries" in done.stdout and "zh: 44 entries" in done.stdout
    manifest = json.loads(next((tmp_path / "kb-index").glob("*/manifest.json")).read_text())
    assert manifest["languages"]["zh"]["entries"] == 44
    kept = subprocess.run([KEFU, "kb", "reindex", "--keep-vectors"], capture_output=True, text=True, env=env)
    assert kept.returncode == 0, kept.stderr
    assert "; 0 embedded)" in kept.stdout
