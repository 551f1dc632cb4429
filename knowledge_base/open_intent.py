"""Open-intent metrics: the known entries plus one "open" class, scored as in the ADB paper.

Anchor: Zhang, Xu, Lin, "Deep Open Intent Classification with Adaptive Decision Boundary", AAAI 2021.
Its evaluation (thuiar/Adaptive-Decision-Boundary, `F_measure`) is reproduced here on the retriever's
decisions, so kefu's figures sit beside the paper's.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from typing import Any

OPEN = None  # the open class: an unknown question's label, and the prediction of a `none` decision


def prediction(decision: str, ranked_ids: Sequence[str]) -> str | None:
    """The predicted class: None (open) for a `none` decision, else the top entry (`clarify` included)."""
    if decision == "none" or not ranked_ids:
        return OPEN
    return ranked_ids[0]


def _f1(true_positive: int, support: int, predicted: int) -> float:
    # Zero division scores 0, as in the paper's code: a class never predicted, or never asked, has F1 0.
    recall = true_positive / support if support else 0.0
    precision = true_positive / predicted if predicted else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def open_intent_metrics(pairs: Iterable[tuple[str | None, str | None]]) -> dict[str, float | None]:
    """Accuracy and F1 over the known classes plus the open class, from (expected, predicted) pairs.

    A label (expected or predicted) of None is the open class. With N questions, and per class c its
    support S_c (questions labelled c), predictions P_c and hits T_c (labelled and predicted c):

    - precision_c = T_c / P_c, recall_c = T_c / S_c, F1_c = 2 p r / (p + r); each 0 when its denominator is;
    - classes: every known label that occurs as an expected or a predicted label (the paper's confusion
      matrix over the labels seen), plus the open class;
    - accuracy = sum_c T_c / N (all questions, known and unknown);
    - macro_f1 = mean of F1_c over the known classes and the open class;
    - open_f1 = F1_open; known_f1 = mean of F1_c over the known classes only;
    - open_recall = recall_open: share of the unknown questions predicted open;
    - known_answered_accuracy = among the known questions, share predicted as their own entry (a known
      question predicted open counts as wrong).

    Shares without a denominator are None ("no data", not 0); so are open_f1 and the open class's part
    of macro_f1 when no question is unknown and none is predicted open.
    """
    support: dict[str | None, int] = {}
    predicted: dict[str | None, int] = {}
    hits: dict[str | None, int] = {}
    total = 0
    for expected, guess in pairs:
        total += 1
        support[expected] = support.get(expected, 0) + 1
        predicted[guess] = predicted.get(guess, 0) + 1
        if expected == guess:
            hits[expected] = hits.get(expected, 0) + 1
    known = sorted({c for c in (*support, *predicted) if c is not OPEN})
    known_f1s = [_f1(hits.get(c, 0), support.get(c, 0), predicted.get(c, 0)) for c in known]
    open_seen = OPEN in support or OPEN in predicted
    open_f1 = _f1(hits.get(OPEN, 0), support.get(OPEN, 0), predicted.get(OPEN, 0)) if open_seen else None
    all_f1s = known_f1s + ([open_f1] if open_f1 is not None else [])
    n_known = total - support.get(OPEN, 0)
    known_hits = sum(hits.get(c, 0) for c in known)
    return {
        "accuracy": _round(sum(hits.values()) / total) if total else None,
        "macro_f1": _round(sum(all_f1s) / len(all_f1s)) if all_f1s else None,
        "open_f1": _round(open_f1),
        "known_f1": _round(sum(known_f1s) / len(known_f1s)) if known_f1s else None,
        "open_recall": _round(hits.get(OPEN, 0) / support[OPEN]) if support.get(OPEN) else None,
        "known_answered_accuracy": _round(known_hits / n_known) if n_known else None,
    }


def summarise_runs(runs: Sequence[dict[str, Any]], keys: Sequence[str]) -> dict[str, dict[str, float | None]]:
    """Mean, sample standard deviation, minimum and maximum of each key over several runs' metrics."""
    summary: dict[str, dict[str, float | None]] = {}
    for key in keys:
        values = [float(r[key]) for r in runs if r.get(key) is not None]
        summary[key] = {
            "mean": round(statistics.mean(values), 4) if values else None,
            "sd": round(statistics.stdev(values), 4) if len(values) > 1 else None,
            "min": min(values) if values else None,
            "max": max(values) if values else None,
        }
    return summary
