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


def abstain(decision: Decision, evidence: float | None, th: Thresholds) -> Decision:
    """`none` instead of an answer or clarify when the top entry's calibrated `evidence` (None: not
    calibrated) is below `th.open_quantile`; `decision` otherwise."""
    if decision != "none" and evidence is not None and evidence < th.open_quantile:
        return "none"  # the entry's own held-out variants nearly all score higher: likely not its question
    return decision
