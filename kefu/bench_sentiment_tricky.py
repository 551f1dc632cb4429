"""`make bench` sentiment rows for the customer-message test set (issue 20): accuracy per language, category.

The set is evaluation only; this module (a `kefu/bench*` file) and the tests are the only code allowed to
name it (tests/testsets/test_customer_messages.py checks that).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kefu.benchlib import yes_no
from kefu_core.paths import ROOT

if TYPE_CHECKING:  # sentiment pulls in sklearn and jieba: imported when scoring, not when `kefu bench` starts
    from sentiment.evaluate import EvalSet
    from sentiment.types import Analysis

SET_DIR = ROOT / "testsets" / "customer_messages"
LANGUAGES = ("en", "zh")
# Issue 20's target for the set is ≥ 95 % right per language; for sentiment it is tracked, not gated.
TARGET_ACCURACY = 0.95
AnalyseMany = Callable[[list[str], str], list["Analysis"]]


def load_language(path: Path, language: str) -> tuple[EvalSet, list[str]]:
    """One language's file as a three-class EvalSet, and each message's category (same order)."""
    from sentiment.evaluate import EvalSet
    from sentiment.model import LABELS

    texts: list[str] = []
    labels: list[str] = []
    categories: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        texts.append(row["text"])
        labels.append(row["sentiment"])
        categories.append(row["category"])
    return EvalSet(f"customer_messages_{language}", language, texts, labels, LABELS), categories


def score_language(analyse_many: AnalyseMany, path: Path, language: str) -> dict[str, Any]:
    """The analyser's metrics on one language's file, plus accuracy per category."""
    from sentiment.evaluate import metrics, predict

    data, categories = load_language(path, language)
    predicted = predict(analyse_many, data)
    by_category: dict[str, dict[str, Any]] = {}
    for category, truth, guess in zip(categories, data.labels, predicted, strict=True):
        cell = by_category.setdefault(category, {"n": 0, "right": 0})
        cell["n"] += 1
        cell["right"] += truth == guess
    for cell in by_category.values():
        cell["accuracy"] = round(cell["right"] / cell["n"], 4)
    return {**metrics(data, predicted), "by_category": dict(sorted(by_category.items()))}


def score(analyse_many: AnalyseMany, folder: Path = SET_DIR) -> dict[str, Any]:
    """{language: metrics} for each `<language>.jsonl` in `folder`, with the target and whether it is met."""
    result: dict[str, Any] = {}
    for language in LANGUAGES:
        path = folder / f"{language}.jsonl"
        if path.is_file():
            scored = score_language(analyse_many, path, language)
            result[language] = {**scored, "met": scored["accuracy"] >= TARGET_ACCURACY}
    return {"by_language": result, "target_accuracy": TARGET_ACCURACY}


def doc_rows(tricky: dict[str, Any]) -> list[str]:
    """Rows for the sentiment table: accuracy per language, macro-recall in the label."""
    rows = []
    for language, m in tricky["by_language"].items():
        rows.append(
            f"| customer messages ({language}) sentiment accuracy (n={m['n']}; macro-recall "
            f"{m['macro_recall']}) | {m['accuracy']} | ≥ {tricky['target_accuracy']} (tracked) "
            f"| {yes_no(m['met'])} |"
        )
    return rows


def doc_category_table(tricky: dict[str, Any]) -> list[str]:
    """A compact table of sentiment accuracy per category and language (`right/n`)."""
    languages = list(tricky["by_language"])
    if not languages:
        return []
    categories = sorted({c for m in tricky["by_language"].values() for c in m["by_category"]})
    lines = [
        "Customer messages (`testsets/customer_messages/`, test data only), sentiment accuracy by category:",
        "",
        "| category | " + " | ".join(languages) + " |",
        "| --- |" + " --- |" * len(languages),
    ]
    for category in categories:
        cells = []
        for language in languages:
            cell = tricky["by_language"][language]["by_category"].get(category)
            cells.append(f"{cell['accuracy']} ({cell['right']}/{cell['n']})" if cell else "—")
        lines.append(f"| `{category}` | " + " | ".join(cells) + " |")
    return lines
