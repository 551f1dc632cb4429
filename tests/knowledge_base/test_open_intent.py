"""Open-intent metrics (ADB's definitions) on hand-made predictions, and the BANKING77-open protocol builder
on a tiny fake BANKING77 folder (never the shared data)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from knowledge_base.banking77 import known_intent_count, load_banking77, load_banking77_open
from knowledge_base.evaluate import EvalInputError, evaluate
from knowledge_base.open_intent import open_intent_metrics, prediction, summarise_runs
from tests.knowledge_base.fakes import HashEncoder

KEYS = {"accuracy", "macro_f1", "open_f1", "known_f1", "open_recall", "known_answered_accuracy"}


def test_prediction_none_is_open_and_clarify_is_its_top_entry() -> None:
    assert prediction("none", ("a", "b")) is None
    assert prediction("clarify", ("b", "a")) == "b"
    assert prediction("answer", ("a",)) == "a"
    assert prediction("answer", ()) is None  # nothing ranked: nothing predicted


def test_metrics_by_hand() -> None:
    # a: 2 questions, predicted a, a, plus one open question predicted a -> T=2, S=2, P=3: F1 = 0.8
    # b: 1 question, predicted open -> T=0: F1 = 0
    # open: 2 questions, one predicted open, one predicted a; the b question also predicted open
    #       -> T=1, S=2, P=2: F1 = 0.5
    pairs = [("a", "a"), ("a", "a"), ("b", None), (None, None), (None, "a")]
    metrics = open_intent_metrics(pairs)
    assert set(metrics) == KEYS
    assert metrics["accuracy"] == 0.6
    assert metrics["known_f1"] == 0.4
    assert metrics["open_f1"] == 0.5
    assert metrics["macro_f1"] == round((0.8 + 0.0 + 0.5) / 3, 4)
    assert metrics["open_recall"] == 0.5
    assert metrics["known_answered_accuracy"] == round(2 / 3, 4)


def test_a_known_class_only_predicted_counts_with_f1_zero() -> None:
    # c is never asked but predicted once: it enters the classes (the paper's confusion matrix) with F1 0.
    metrics = open_intent_metrics([("a", "a"), ("a", "c"), (None, None)])
    assert metrics["known_f1"] == round((2 * 1 * 0.5 / 1.5 + 0.0) / 2, 4)
    assert metrics["open_f1"] == 1.0


def test_all_open() -> None:
    """Everything predicted open: every known F1 is 0, open precision is the share of unknowns."""
    pairs = [("a", None), ("b", None), (None, None), (None, None)]
    metrics = open_intent_metrics(pairs)
    assert metrics["accuracy"] == 0.5
    assert metrics["known_f1"] == 0.0
    assert metrics["open_f1"] == round(2 * 0.5 * 1.0 / 1.5, 4)
    assert metrics["macro_f1"] == round((0 + 0 + 2 / 3) / 3, 4)
    assert metrics["open_recall"] == 1.0
    assert metrics["known_answered_accuracy"] == 0.0


def test_no_open_prediction() -> None:
    """The retriever always answers (kefu today): open F1 and open recall are 0, not missing."""
    pairs = [("a", "a"), ("b", "b"), (None, "a"), (None, "b")]
    metrics = open_intent_metrics(pairs)
    assert metrics["open_f1"] == 0.0 and metrics["open_recall"] == 0.0
    assert metrics["accuracy"] == 0.5
    assert metrics["known_f1"] == round(2 / 3, 4)  # a and b: precision 0.5, recall 1
    assert metrics["macro_f1"] == round((2 / 3 + 2 / 3 + 0) / 3, 4)
    assert metrics["known_answered_accuracy"] == 1.0


def test_no_unknown_questions_and_no_open_predictions_leave_open_out() -> None:
    metrics = open_intent_metrics([("a", "a"), ("b", "a")])
    assert metrics["open_f1"] is None and metrics["open_recall"] is None
    assert metrics["macro_f1"] == metrics["known_f1"] == round((2 / 3 + 0) / 2, 4)
    assert open_intent_metrics([])["accuracy"] is None


def test_summarise_runs() -> None:
    summary = summarise_runs(
        [{"accuracy": 0.5}, {"accuracy": 0.7}, {"accuracy": None}], ["accuracy", "open_f1"]
    )
    assert summary["accuracy"] == {"mean": 0.6, "sd": round(0.1414213, 4), "min": 0.5, "max": 0.7}
    assert summary["open_f1"] == {"mean": None, "sd": None, "min": None, "max": None}


def write_banking(folder: Path, intents: int = 8) -> Path:
    """train.csv (3 texts per intent) and test.csv (2 per intent) with words unique to each intent."""
    folder.mkdir(parents=True, exist_ok=True)
    train = ["text,category"]
    test = ["text,category"]
    for i in range(intents):
        word = f"thing{i}"
        train += [f"{word} alpha {j},intent_{i}" for j in range(3)]
        test += [f"{word} beta,intent_{i}", f"about my {word},intent_{i}"]
    (folder / "train.csv").write_text("\n".join(train) + "\n", encoding="utf-8")
    (folder / "test.csv").write_text("\n".join(test) + "\n", encoding="utf-8")
    return folder


def test_known_intent_count_rounds_like_the_paper() -> None:
    assert [known_intent_count(77, r) for r in (0.25, 0.5, 0.75)] == [19, 38, 58]
    for bad in (0.0, 1.0, -0.5, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1"):
            known_intent_count(77, bad)
    with pytest.raises(ValueError, match="no known or no unknown intent"):
        known_intent_count(3, 0.1)


def test_open_protocol_keeps_every_test_question_and_hides_the_unknown_intents(tmp_path: Path) -> None:
    data = write_banking(tmp_path / "banking77")
    entries, queries = load_banking77_open(data, known_ratio=0.5, seed=0)
    known = {e.faq_id for e in entries}
    assert len(known) == 4 and len(queries) == 16
    assert all(len(e.variants) == 3 for e in entries)  # every training text of a known intent
    _, closed = load_banking77(data)
    for question, original in zip(queries, closed, strict=True):  # same questions, same order
        assert question.text == original.text and question.language == "en"
        expected = original.expected_id if original.expected_id in known else None
        assert question.expected_id == expected
    assert sum(q.expected_id is None for q in queries) == 8
    again, _ = load_banking77_open(data, known_ratio=0.5, seed=0)
    other = {e.faq_id for e in load_banking77_open(data, known_ratio=0.5, seed=3)[0]}
    assert again == entries and other != known  # the draw follows the seed
    assert len(load_banking77_open(data, known_ratio=0.75, seed=0)[0]) == 6


def test_open_protocol_errors(tmp_path: Path) -> None:
    with pytest.raises(EvalInputError, match="no such folder"):
        load_banking77_open(tmp_path / "missing", known_ratio=0.5, seed=0)
    with pytest.raises(EvalInputError, match=r"train\.csv: file not found"):
        load_banking77_open(tmp_path, known_ratio=0.5, seed=0)
    data = write_banking(tmp_path / "b")
    with pytest.raises(ValueError, match="between 0 and 1"):
        load_banking77_open(data, known_ratio=1.0, seed=0)


def test_evaluate_adds_open_intent_only_when_some_questions_are_unknown(tmp_path: Path) -> None:
    entries, queries = load_banking77_open(write_banking(tmp_path / "b"), known_ratio=0.5, seed=0)
    report: dict[str, Any] = evaluate(entries, queries, HashEncoder(), progress=False)  # type: ignore[arg-type]
    metrics = report["open_intent"]
    assert set(metrics) == KEYS
    assert metrics["known_answered_accuracy"] == report["in_scope_accuracy"]
    assert metrics["open_recall"] == report["none_rate_unanswerable"]
    closed = [q for q in queries if q.expected_id is not None]
    assert "open_intent" not in evaluate(entries, closed, HashEncoder(), progress=False)  # type: ignore[arg-type]
