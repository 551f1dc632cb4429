"""The decision taken on ranked scores: answer, ask which entry was meant (clarify), or none."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from knowledge_base.thresholds import Thresholds

Decision = Literal["answer", "clarify", "none"]


def decide(scores: Sequence[float], th: Thresholds) -> Decision:
    """`answer` when the best score clears `th.answer` by `th.margin` over the runner-up, `clarify` when
    it clears `th.clarify`, else `none`."""
    if not scores or scores[0] < th.clarify:
        return "none"
    runner_up = scores[1] if len(scores) > 1 else 0.0
    if scores[0] >= th.answer and scores[0] - runner_up >= th.margin:
        return "answer"
    return "clarify"
