"""Sentiment hands its message vector on to Rasa (one MiniLM pass per customer message) without changing a
label: the same labels and scores on our customer test set, and the vector handed on is a fresh encoding's."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest

from kefu_core.encoding.embedder import default_model_path
from kefu_core.encoding.onnx import open_encoder
from kefu_core.encoding.shared import METADATA_KEY, unpack
from kefu_core.paths import ROOT
from sentiment.analyser import Analyser, get_analyser
from sentiment.backends import DefaultBackend
from sentiment.encoder import SentenceEncoder
from sentiment.runtime import label_message, rasa_metadata, shared_vector

SET_DIR = ROOT / "testsets" / "customer_messages"


@dataclass
class Stored:
    """What label_message and rasa_metadata read of the app's Message."""

    text: str
    id: int | None = 1
    sentiment_label: str | None = None
    sentiment_score: float | None = None


def _messages(language: str, limit: int) -> list[str]:
    lines = (SET_DIR / f"{language}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines[:limit]]


@pytest.fixture(scope="module")
def backends() -> tuple[DefaultBackend, DefaultBackend]:
    """The shipped backend (remembering encoder) and one on the plain int8 encoder, with the same models."""
    shipped = DefaultBackend.load()
    assert shipped.encoder.remembering is not None
    plain = open_encoder(default_model_path(), int8=True, threads=1)
    before = DefaultBackend(SentenceEncoder(plain.encode, shipped.encoder.name), shipped.models)
    return shipped, before


@pytest.mark.parametrize("language", ["en", "zh"])
def test_labels_and_scores_are_unchanged(
    backends: tuple[DefaultBackend, DefaultBackend], language: str
) -> None:
    shipped, before = (Analyser(b) for b in backends)
    texts = _messages(language, 150)
    for text in texts:  # one at a time, as a turn labels its message
        now, then = shipped.analyse(text, language), before.analyse(text, language)
        assert (now.label, now.score, now.confidence) == (then.label, then.score, then.confidence), text


def test_rasa_gets_the_labelled_messages_vector() -> None:
    plain = open_encoder(default_model_path(), int8=True, threads=1)
    for text, language in [
        ("my parcel never arrived, this is useless", "en"),
        ("快递一直没到，太慢了", "zh"),
    ]:
        message = Stored(text)
        label_message(message, text, language)
        assert message.sentiment_label is not None
        metadata = rasa_metadata(message)
        assert metadata["sentiment"] == message.sentiment_label
        found = unpack(
            metadata[METADATA_KEY], graph=metadata[METADATA_KEY]["graph"], text=text, dimension=384
        )
        assert found is not None
        assert np.array_equal(found[0], plain.encode([text])[0])
        assert found[1] == float(plain.unknown_share([text])[0])


def test_no_vector_when_sentiment_read_another_text() -> None:
    # Sentiment embeds a Chinese message's first 32 characters only: Rasa reads all of it, so nothing is
    # handed on and the featurizer encodes the whole text itself.
    long_zh = "我上周买的那件外套到现在还没有发货，客服也一直不回复消息，" * 2
    message = Stored(long_zh)
    label_message(message, long_zh, "zh")
    assert message.sentiment_label is not None
    assert METADATA_KEY not in rasa_metadata(message)
    # A button payload is not labelled, so it carries nothing either.
    button = Stored("/affirm")
    label_message(button, button.text, "en")
    assert rasa_metadata(button) == {}


def test_the_text_is_matched_as_rasa_reads_it() -> None:
    get_analyser().analyse("where is my refund", "en")
    assert shared_vector("  where is my refund \n") is not None  # Rasa strips the text it is sent
    assert shared_vector("where is my refund?") is None
