"""Retrieval at scale: indexing speed, and query latency with 10,000 and 100,000 entries.

The bases are synthetic (word sequences drawn from the demo knowledge base's English vocabulary, one
question and one variant per entry). The 10,000-entry base is embedded for real, which also measures
indexing speed. Embedding 200,000 texts would take many minutes here, so the 100,000-entry base gets
random unit vectors instead; every query is still embedded by the real model, and the index (IVF above
`APPROX_ABOVE` texts), BM25 and the fusion work exactly as in production.
"""

from __future__ import annotations

import re
import time
from typing import Any

import numpy as np

from kefu.benchlib import latency_summary
from kefu_core.encoding.embedder import Embedder
from knowledge_base.retriever import FaqRetriever
from knowledge_base.service import SEED_FILE, read_jsonl
from knowledge_base.vector_cache import VectorCache

QUERIES = 300


def _vocabulary() -> list[str]:
    words: set[str] = set()
    for row in read_jsonl(SEED_FILE):
        if row["language"] == "en":
            for text in (row["question"], *row.get("variants", [])):
                words.update(w.lower() for w in re.findall(r"[A-Za-z]{3,}", text))
    return sorted(words)


def synthetic_entries(n: int, seed: int = 0) -> list[Any]:
    """`n` English entries, each a question and one variant of 5-9 words."""
    from knowledge_base.retriever import EntryDoc

    rng = np.random.default_rng(seed)
    vocab = np.asarray(_vocabulary())

    def sentence() -> str:
        return " ".join(rng.choice(vocab, int(rng.integers(5, 10))))

    return [
        EntryDoc(f"s{i}", f"{sentence()} {i}", f"answer {i}", "en", None, (sentence(),)) for i in range(n)
    ]


def _queries(entries: list[Any], seed: int = 1) -> list[str]:
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(entries), QUERIES, replace=False)
    out = []
    for i in picks:
        words = entries[int(i)].variants[0].split()
        words.pop(int(rng.integers(len(words))))  # a paraphrase-ish miss of one word
        out.append(" ".join(words))
    return out


def _measure(retriever: FaqRetriever, queries: list[str]) -> dict[str, float]:
    for q in queries[:10]:  # warm-up
        retriever.search(q, language="en")
    took = []
    for q in queries:
        started = time.perf_counter()
        retriever.search(q, language="en")
        took.append((time.perf_counter() - started) * 1000)
    return latency_summary(took)


def run_scale(embedder: Embedder, *, small: int = 10_000, large: int = 100_000) -> dict[str, Any]:
    """Indexing speed and latency at `small` (embedded for real) and `large` (random vectors) entries."""
    print(f">> kb: indexing {small:,} synthetic entries (real embeddings)", flush=True)
    entries = synthetic_entries(small)
    texts = sum(len(e.texts) for e in entries)
    retriever = FaqRetriever(embedder)
    started = time.perf_counter()
    retriever.build(entries)
    index_s = time.perf_counter() - started
    small_latency = _measure(retriever, _queries(entries))
    small_kind = retriever.stats()["en"]["index"]
    del retriever

    print(f">> kb: {large:,} synthetic entries (random vectors), latency", flush=True)
    entries = synthetic_entries(large)
    rng = np.random.default_rng(2)
    cache = VectorCache("synthetic", embedder.dimension)
    all_texts = [t for e in entries for t in e.texts]
    vectors = rng.standard_normal((len(all_texts), embedder.dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    cache.put(all_texts, vectors)
    retriever = FaqRetriever(embedder, cache=cache)
    started = time.perf_counter()
    retriever.build(entries)
    large_build_s = time.perf_counter() - started
    large_latency = _measure(retriever, _queries(entries))
    return {
        "indexing": {
            "entries": small,
            "texts": texts,
            "seconds": round(index_s, 1),
            "texts_per_s": round(texts / index_s, 1),
        },
        "latency_10k": {"entries": small, "index": small_kind, **small_latency},
        "latency_100k": {
            "entries": large,
            "texts": len(all_texts),
            "index": retriever.stats()["en"]["index"],
            "build_s_without_embedding": round(large_build_s, 1),
            **large_latency,
        },
    }
