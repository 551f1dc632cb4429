"""The embedder remembers recent single messages (sentiment, then FAQ search, embed the same text)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from kefu_core.encoding import embedder as module
from kefu_core.encoding.embedder import Embedder


@pytest.fixture
def counted() -> tuple[Embedder, list[list[str]]]:
    model = Embedder()
    calls: list[list[str]] = []
    few, bulk = model._encode_few, model._encode

    def spy_few(texts: list[str]) -> Any:
        calls.append(list(texts))
        return few(texts)

    def spy_bulk(texts: list[str]) -> np.ndarray:
        calls.append(list(texts))
        return bulk(texts)

    model._encode_few = spy_few  # type: ignore[method-assign]
    model._encode = spy_bulk  # type: ignore[method-assign]
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


def test_a_message_is_embedded_once_for_sentiment_and_faq_search(
    counted: tuple[Embedder, list[list[str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    model, calls = counted
    vector = model.encode(["Where is my parcel?"])  # sentiment's turn
    again, pieces = model.encode_query("Where is my parcel?")  # then the FAQ search's
    assert calls == [["Where is my parcel?"]]
    assert np.array_equal(vector, again) and len(pieces.ids) == 5
    monkeypatch.setattr(module, "RECENT_PIECES", 3)  # a long message keeps only its vector
    model.encode(["my card has not arrived yet"])
    _, long_pieces = model.encode_query("my card has not arrived yet")
    assert len(long_pieces.ids) > 3 and model._recent["my card has not arrived yet"][1] is None
