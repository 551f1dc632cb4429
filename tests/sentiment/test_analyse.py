"""The default backend end to end: bad input, odd input, and the labels it must get right."""

from __future__ import annotations

import pytest

from sentiment.analyser import Analyser
from sentiment.backends import DefaultBackend
from sentiment.types import SentimentError


@pytest.fixture(scope="module")
def analyser() -> Analyser:
    return Analyser(DefaultBackend.load())


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text_is_an_error(analyser: Analyser, text: str) -> None:
    with pytest.raises(SentimentError):
        analyser.analyse(text)


def test_unknown_language_is_an_error(analyser: Analyser) -> None:
    with pytest.raises(SentimentError):
        analyser.analyse("hello", "fr")


@pytest.mark.parametrize(
    ("text", "label", "language"),
    [
        ("The parcel arrived broken and nobody answers my emails.", "negative", "en"),
        ("Thank you so much, problem solved!", "positive", "en"),
        ("not bad at all", "positive", "en"),
        ("Can I change my delivery address?", "neutral", "en"),
        ("我的order还没到，太差了", "negative", "zh"),
        ("谢谢客服，问题解决了", "positive", "zh"),
        ("请问怎么修改收货地址？", "neutral", "zh"),
        # Issue 20's misreadings: negated praise in Chinese, a negated complaint in English.
        ("不是很满意，包装破了", "negative", "zh"),
        ("not bad at all, delivery was quick", "positive", "en"),
        ("不算愉快的一次购物，客服也没回我", "negative", "zh"),
    ],
)
def test_labels(analyser: Analyser, text: str, label: str, language: str) -> None:
    result = analyser.analyse(text)
    assert (result.label, result.language) == (label, language)
    assert -1.0 <= result.score <= 1.0 and 0.0 < result.confidence <= 1.0
    assert (result.score < 0) == (label == "negative") or label == "neutral"


def test_odd_inputs_get_valid_answers(analyser: Analyser) -> None:
    assert analyser.analyse("😡😡😡").label == "negative"
    long = analyser.analyse("The room was fine. " * 530)  # about 10,000 characters
    assert long.label in ("negative", "neutral", "positive")
    mixed = analyser.analyse("退款 still not received after two weeks 太慢了 😞")
    assert mixed.label == "negative"
