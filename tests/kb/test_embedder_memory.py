"""The embedder remembers recent single messages (sentiment, then FAQ search, embed the same text)."""

from __future__ import annotations

import numpy as np
import pytest

from knowledge_base import embedder as module
from knowledge_base.embedder import Embedder


@pytest.fixture
def counted() -> tuple[Embedder, list[list[str]]]:
    model = Embedder()
    calls: list[list[str]] = []
    real = model._encode

    def spy(texts: list[str]) -> np.ndarray:
        calls.append(list(texts))
        return real(texts)

    model._encode = spy  # type: ignore[method-assign]
    return model, calls


def test_a_repeated_message_is_embedded_once(counted: tuple[Embedder, list[list[str]]]) -> None:
    model, calls = counted
    first = model.encode(["Where is my parcel?"])
    again = model.encode(["Where is my parcel?"])
    assert calls == [["Where is my parcel?"]]
    assert np.array_equal(first, again)
    again[0, 0] = 42.0  # the caller's copy: the remembered vector is untouched
    assert model.encode(["Where is my parcel?"])[0, 0] != 42.0
    mixed = model.encode(["hello", "Where is my parcel?", "hello"])
    assert (
        calls[-1] == ["hello"] and np.array_equal(mixed[1], first[0]) and np.array_equal(mixed[0], mixed[2])
    )


def test_bulk_calls_bypass_the_memory(counted: tuple[Embedder, list[list[str]]]) -> None:
    model, calls = counted
    texts = [f"entry {i}" for i in range(module.RECENT_BATCH + 1)]
    model.encode(texts)
    model.encode(texts)
    assert len(calls) == 2


def test_the_oldest_is_forgotten(
    counted: tuple[Embedder, list[list[str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(module, "RECENT_SIZE", 2)
    model, calls = counted
    for text in ["a", "b", "c", "a"]:
        model.encode([text])
    assert calls == [["a"], ["b"], ["c"], ["a"]]
