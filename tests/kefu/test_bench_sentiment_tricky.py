"""The customer-message rows of `make bench`'s sentiment section, scored with a stub analyser on a tiny set
this test writes (known answers, no model)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kefu import bench_sentiment, bench_sentiment_tricky
from sentiment.types import Analysis

# text -> the stub's label; rows: (text, truth, category)
STUB = {
    "not happy at all": "positive",  # wrong
    "no complaints, great": "positive",
    "thanks for charging me twice": "negative",
    "where is my order": "neutral",
    "完全不满意": "negative",
    "一点都不慢": "negative",  # wrong
}
EN = [
    ("not happy at all", "negative", "negated_praise"),
    ("no complaints, great", "positive", "negated_complaint"),
    ("thanks for charging me twice", "negative", "sarcasm"),
    ("where is my order", "neutral", "plain"),
]
ZH = [("完全不满意", "negative", "negated_praise"), ("一点都不慢", "positive", "negated_complaint")]


def _stub(texts: list[str], language: str) -> list[Analysis]:
    score = {"negative": -0.8, "neutral": 0.0, "positive": 0.8}
    return [Analysis(STUB[t], score[STUB[t]], 0.9, language) for t in texts]


def _write(folder: Path, name: str, rows: list[tuple[str, str, str]]) -> None:
    lines = [json.dumps({"text": t, "sentiment": s, "category": c}, ensure_ascii=False) for t, s, c in rows]
    (folder / name).write_text("\n".join(lines) + "\n\n", encoding="utf-8")  # a trailing blank line


@pytest.fixture
def tricky(tmp_path: Path) -> dict[str, Any]:
    _write(tmp_path, "en.jsonl", EN)
    _write(tmp_path, "zh.jsonl", ZH)
    return bench_sentiment_tricky.score(_stub, tmp_path)


def test_accuracy_macro_recall_and_confusion_per_language(tricky: dict[str, Any]) -> None:
    en, zh = tricky["by_language"]["en"], tricky["by_language"]["zh"]
    assert (en["n"], en["accuracy"], zh["n"], zh["accuracy"]) == (4, 0.75, 2, 0.5)
    # en recall: negative 1/2, neutral 1/1, positive 1/1
    assert en["macro_recall"] == round((0.5 + 1 + 1) / 3, 4)
    assert en["classes"] == ["negative", "neutral", "positive"]
    assert en["confusion"] == [[1, 0, 1], [0, 1, 0], [0, 0, 1]]
    assert (en["met"], tricky["target_accuracy"]) == (False, 0.95)


def test_accuracy_per_category(tricky: dict[str, Any]) -> None:
    en, zh = tricky["by_language"]["en"]["by_category"], tricky["by_language"]["zh"]["by_category"]
    assert list(en) == ["negated_complaint", "negated_praise", "plain", "sarcasm"]
    assert en["negated_praise"] == {"n": 1, "right": 0, "accuracy": 0.0}
    assert en["sarcasm"] == {"n": 1, "right": 1, "accuracy": 1.0}
    assert zh["negated_complaint"]["accuracy"] == 0.0 and zh["negated_praise"]["accuracy"] == 1.0


def test_missing_language_file_is_left_out(tmp_path: Path) -> None:
    _write(tmp_path, "en.jsonl", EN)
    assert list(bench_sentiment_tricky.score(_stub, tmp_path)["by_language"]) == ["en"]


def test_doc_rows_and_category_table(tricky: dict[str, Any]) -> None:
    rows = bench_sentiment_tricky.doc_rows(tricky)
    assert rows[0] == (
        "| customer messages (en) sentiment accuracy (n=4; macro-recall 0.8333) | 0.75 "
        "| ≥ 0.95 (tracked) | **no** |"
    )
    table = bench_sentiment_tricky.doc_category_table(tricky)
    assert "| category | en | zh |" in table
    assert "| `sarcasm` | 1.0 (1/1) | — |" in table
    assert "| `negated_complaint` | 1.0 (1/1) | 0.0 (0/1) |" in table


def test_sentiment_section_renders_with_and_without_the_set(
    tricky: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[list[str]] = []
    monkeypatch.setattr(bench_sentiment, "write_doc_section", lambda key, title, lines: written.append(lines))
    dev = {"n": 10, "accuracy": 0.5, "macro_recall": 0.5, "macro_f1": 0.5}
    result: dict[str, Any] = {
        "measured_at": "now",
        "machine": {"cpus": 2},
        "backend": "stub",
        "tweeteval": dev,
        "chnsenticorp": dev,
        "latency_ms": {"messages": 4, "p50": 1.0, "p95": 2.0},
        "memory": {"added_mb": 1.0},
        "met": {
            "tweeteval_macro_recall": False,
            "chnsenticorp_accuracy": False,
            "p95_ms": True,
            "memory_mb": True,
        },
    }
    bench_sentiment.write_doc(result)  # a result written before issue 20: no customer-message rows
    bench_sentiment.write_doc({**result, "customer_messages": tricky})
    before, after = written
    assert not any("customer messages" in line for line in before)
    rows, table = bench_sentiment_tricky.doc_rows(tricky), bench_sentiment_tricky.doc_category_table(tricky)
    # the language rows go right after ChnSentiCorp (header, rule, TweetEval, ChnSentiCorp); the table last
    assert after == [*before[:4], *rows, *before[4:], "", *table]
