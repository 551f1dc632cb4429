"""The answer / clarify / none decision on ranked scores."""

from __future__ import annotations

import pytest

from knowledge_base.decision import decide
from knowledge_base.thresholds import DEFAULT_THRESHOLDS, Thresholds, for_language

TH = Thresholds(answer=0.625, clarify=0.375, margin=0.125)  # exact in binary: the edges are tested


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([], "none"),
        ([0.37], "none"),  # below clarify
        ([0.375], "clarify"),  # clarify is inclusive
        ([0.6, 0.1], "clarify"),  # between clarify and answer
        ([0.625], "answer"),  # alone: the runner-up counts as 0
        ([0.625, 0.5], "answer"),  # exactly the margin
        ([0.625, 0.51], "clarify"),  # too close to the runner-up
        ([0.9, 0.88, 0.1], "clarify"),
        ([0.9, 0.5, 0.49], "answer"),
    ],
)
def test_decision_follows_the_thresholds_and_the_margin(scores: list[float], expected: str) -> None:
    assert decide(scores, TH) == expected


def test_every_language_has_its_own_thresholds_and_others_get_the_generic_ones() -> None:
    assert for_language(DEFAULT_THRESHOLDS, "zh") is DEFAULT_THRESHOLDS["zh"]
    assert for_language(DEFAULT_THRESHOLDS, "fr") == Thresholds()
    for th in DEFAULT_THRESHOLDS.values():
        assert 0 < th.clarify < th.answer < 1
    # The same score answers in Chinese and only asks back in English (the dense signal is weaker there).
    assert decide([0.45], DEFAULT_THRESHOLDS["zh"]) == "answer"
    assert decide([0.45], DEFAULT_THRESHOLDS["en"]) == "clarify"
