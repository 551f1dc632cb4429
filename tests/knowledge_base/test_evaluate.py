"""Offline retrieval evaluation: loaders, metrics arithmetic, the threshold sweep and the CLI."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from kefu.kb_eval_cli import add_kb_eval_commands
from kefu_core.encoding.embedder import Embedder
from knowledge_base.banking77 import load_banking77, readable_intent
from knowledge_base.evaluate import (
    EvalInputError,
    Outcome,
    Query,
    compute_metrics,
    load_kb,
    load_queries,
    threshold_sweep,
)
from knowledge_base.retriever import DEFAULT_THRESHOLDS, Thresholds

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KB_ROWS = [
    {
        "id": "ship",
        "question": "How long does delivery take?",
        "variants": ["how many days until my parcel arrives", "delivery time"],
        "answer": "3-5 business days.",
        "language": "en",
    },
    {
        "id": "refund",
        "question": "When will I get my refund?",
        "variants": ["refund not received yet", "how long do refunds take"],
        "answer": "Within 5-7 business days.",
        "language": "en",
        "category": "refunds",
    },
    {
        "id": "pw",
        "question": "How do I reset my password?",
        "variants": ["forgot my password"],
        "answer": "Use the reset link.",
        "language": "en",
        "status": "published",
    },
    {"id": "draft", "question": "Unpublished?", "answer": "No.", "language": "en", "status": "draft"},
]
QUERY_ROWS = [
    {"text": "how many days does shipping take", "expected_id": "ship"},
    {"text": "I forgot my password, help", "expected_id": "pw"},
    {"text": "my refund still hasn't arrived", "expected_id": "refund"},
    {"text": "What is the boiling point of tungsten on Mars?", "expected_id": None},
]


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def outcome(
    expected: str | None, decision: str, ranked: tuple[str, ...], scores: tuple[float, ...]
) -> Outcome:
    return Outcome(Query("q", expected), "en", decision, ranked, scores, 10.0)  # type: ignore[arg-type]


def test_top1_ignores_the_decision_but_in_scope_accuracy_does_not() -> None:
    outcomes = [
        outcome("a", "answer", ("a", "b", "c"), (0.9, 0.5, 0.4)),
        outcome("a", "none", ("a", "b", "c"), (0.3, 0.2, 0.1)),  # right entry, but not answered
        outcome("b", "clarify", ("c", "b", "a"), (0.5, 0.48, 0.3)),  # top-3 only
        outcome("c", "answer", ("a", "b", "d"), (0.8, 0.3, 0.2)),  # wrong
        outcome(None, "none", ("a",), (0.1,)),
        outcome(None, "clarify", ("b",), (0.45,)),
    ]
    metrics = compute_metrics(outcomes)
    assert metrics["n"] == 6
    assert (metrics["n_answerable"], metrics["n_unanswerable"]) == (4, 2)
    assert metrics["top1"] == 0.5
    assert metrics["top3"] == 0.75
    assert metrics["in_scope_accuracy"] == 0.25
    assert metrics["none_rate_unanswerable"] == 0.5
    assert metrics["decisions"] == {"answer": 2, "clarify": 2, "none": 2}
    assert metrics["latency_ms"]["p50"] == metrics["latency_ms"]["p99"] == 10.0


def test_shares_are_none_without_a_denominator() -> None:
    metrics = compute_metrics([outcome("a", "answer", ("a",), (0.9,))])
    assert metrics["top1"] == 1.0
    assert metrics["none_rate_unanswerable"] is None


def test_threshold_sweep_keeps_the_margin_rule() -> None:
    outcomes = [
        outcome("a", "answer", ("a", "b"), (0.9, 0.1)),
        outcome("b", "answer", ("a", "b"), (0.7, 0.1)),  # wrong, answered up to 0.7
        outcome("c", "clarify", ("c", "d"), (0.8, 0.79)),  # margin too small: never answered
        outcome(None, "none", ("a",), (0.2,)),
    ]
    points = {p["threshold"]: p for p in threshold_sweep(outcomes, {"en": Thresholds(margin=0.05)})}
    assert points[0.0]["answered"] == 3 and points[0.0]["answered_accuracy"] == round(1 / 3, 4)
    assert points[0.5]["answer_rate"] == 0.5 and points[0.5]["answered_accuracy"] == 0.5
    assert points[0.8]["answered"] == 1 and points[0.8]["answered_accuracy"] == 1.0
    assert points[1.0]["answered"] == 0 and points[1.0]["answered_accuracy"] is None


def test_load_kb_keeps_published_entries(tmp_path: Path) -> None:
    entries = load_kb(write_jsonl(tmp_path / "kb.jsonl", KB_ROWS))
    assert [e.faq_id for e in entries] == ["ship", "refund", "pw"]
    assert entries[1].category == "refunds" and entries[1].variants[0] == "refund not received yet"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", r"kb.jsonl:2: not valid JSON"),
        ('["a list"]', r"kb.jsonl:2: expected a JSON object"),
        ('{"id": "x", "question": "q", "answer": "a"}', r"kb.jsonl:2: `language` must be"),
        ('{"id": "ship", "question": "q", "answer": "a", "language": "en"}', r"kb.jsonl:2: duplicate id"),
        ('{"id": "y", "question": "q", "answer": "a", "language": "en", "variants": "v"}', r"`variants`"),
        ('{"id": "z", "question": "q", "answer": "a", "language": "en", "status": "live"}', r"`status`"),
    ],
)
def test_bad_kb_lines_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "kb.jsonl"
    path.write_text(json.dumps(KB_ROWS[0]) + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(EvalInputError, match=message):
        load_kb(path)


def test_bad_query_lines(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"text": "hi", "expected_id": "ship"}\n\n{"text": "hello"}\n', encoding="utf-8")
    with pytest.raises(EvalInputError, match=r"q.jsonl:3: `expected_id` is missing"):
        load_queries(path)
    write_jsonl(path, [{"text": "hi", "expected_id": "nope"}])
    with pytest.raises(EvalInputError, match=r"q.jsonl:1: expected_id 'nope' is not a published entry"):
        load_queries(path, known_ids=["ship"])
    write_jsonl(path, [{"text": "  ", "expected_id": None}])
    with pytest.raises(EvalInputError, match=r"q.jsonl:1: `text` must be a non-empty string"):
        load_queries(path)
    with pytest.raises(EvalInputError, match="file not found"):
        load_queries(tmp_path / "missing.jsonl")


def test_banking77_loader_samples_shots_by_seed(tmp_path: Path) -> None:
    train = ["text,category"] + [f'"card {i}, please",card_arrival' for i in range(6)]
    train += [f"top up {i},top_up_failed" for i in range(3)]
    (tmp_path / "train.csv").write_text("\n".join(train) + "\n", encoding="utf-8")
    (tmp_path / "test.csv").write_text("text,category\nwhere is my card,card_arrival\n", encoding="utf-8")
    entries, queries = load_banking77(tmp_path)
    assert [(e.faq_id, e.question, len(e.variants)) for e in entries] == [
        ("card_arrival", "Card arrival", 6),
        ("top_up_failed", "Top up failed", 3),
    ]
    assert entries[0].variants[0] == "card 0, please" and entries[0].language == "en"
    assert queries == [Query("where is my card", "card_arrival", "en")]
    few, _ = load_banking77(tmp_path, shots=2, seed=1)
    assert [len(e.variants) for e in few] == [2, 2]
    assert set(few[0].variants) <= set(entries[0].variants)
    assert load_banking77(tmp_path, shots=2, seed=1)[0] == few  # same seed, same sample
    assert readable_intent("card_not_working") == "Card not working"


def test_banking77_loader_errors(tmp_path: Path) -> None:
    with pytest.raises(EvalInputError, match=r"train\.csv: file not found"):
        load_banking77(tmp_path)
    (tmp_path / "train.csv").write_text("sentence,label\na,b\n", encoding="utf-8")
    with pytest.raises(EvalInputError, match=r"train.csv:1: expected the header `text,category`"):
        load_banking77(tmp_path)
    (tmp_path / "train.csv").write_text("text,category\nhello,greet\n", encoding="utf-8")
    (tmp_path / "test.csv").write_text("text,category\nbye,farewell\n", encoding="utf-8")
    with pytest.raises(EvalInputError, match="'farewell' has no training texts"):
        load_banking77(tmp_path)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="kefu")
    kb = parser.add_subparsers(dest="command").add_parser("kb")
    add_kb_eval_commands(kb.add_subparsers(dest="kb_command", required=True))
    return parser.parse_args(argv)


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


def test_cli_eval_writes_json_and_png(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("knowledge_base.evaluate.Embedder", lambda: embedder)  # load the model once
    kb = write_jsonl(tmp_path / "kb.jsonl", KB_ROWS)
    queries = write_jsonl(tmp_path / "q.jsonl", QUERY_ROWS)
    out, png = tmp_path / "out" / "result.json", tmp_path / "out" / "sweep.png"
    args = parse(
        ["kb", "eval", "--kb", str(kb), "--queries", str(queries), "--json", str(out), "--plot", str(png)]
    )
    assert args.func(args) == 0
    report = json.loads(out.read_text())
    required = {"top1", "top3", "in_scope_accuracy", "none_rate_unanswerable", "decisions", "latency_ms", "n"}
    assert required <= report.keys()
    assert report["n"] == 4 and report["top1"] == 1.0 and report["top3"] == 1.0
    assert report["none_rate_unanswerable"] == 1.0
    assert sum(report["decisions"].values()) == 4
    assert {"p50", "p99"} <= report["latency_ms"].keys() and report["latency_ms"]["p50"] > 0
    assert all(0 <= p["answer_rate"] <= 1 for p in report["sweep"])
    # One question the base does not cover: the JSON gains the open-intent block.
    open_intent = report["open_intent"]
    assert set(open_intent) == {
        "accuracy", "macro_f1", "open_f1", "known_f1", "open_recall", "known_answered_accuracy"
    }  # fmt: skip
    assert open_intent["open_recall"] == report["none_rate_unanswerable"] == 1.0
    assert open_intent["known_answered_accuracy"] == report["in_scope_accuracy"]
    assert png.read_bytes()[:8] == PNG_SIGNATURE
    svg = ElementTree.parse(png.with_suffix(".svg")).getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    svg_text = " ".join(svg.itertext())  # the SVG keeps its texts as text
    threshold = report["answer_thresholds"]["en"]  # the clarify cut-off: abstention is on by default
    assert threshold == DEFAULT_THRESHOLDS["en"].clarify
    assert "q.jsonl vs kb.jsonl (4 queries)" in svg_text and f"threshold {threshold:.2f}" in svg_text
    err = capsys.readouterr().err
    assert "top-1" in err and f"plot: {png}, {png.with_suffix('.svg')}" in err


def test_cli_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kb = tmp_path / "kb.jsonl"
    kb.write_text(json.dumps(KB_ROWS[0]) + "\n{oops\n", encoding="utf-8")
    queries = write_jsonl(tmp_path / "q.jsonl", QUERY_ROWS)
    args = parse(
        ["kb", "eval", "--kb", str(kb), "--queries", str(queries), "--json", str(tmp_path / "o.json")]
    )
    assert args.func(args) == 2
    assert "kb.jsonl:2: not valid JSON" in capsys.readouterr().err
    assert not (tmp_path / "o.json").exists()
    args = parse(["kb", "bench", "banking77", "--data", str(tmp_path), "--seed", "0", "--json", "o.json"])
    assert args.func(args) == 2
    assert "train.csv: file not found" in capsys.readouterr().err


def test_cli_bench_flags() -> None:
    args = parse(["kb", "bench", "banking77", "--data", "d", "--shots", "10", "--seed", "2", "--json", "o"])
    assert (args.dataset, args.shots, args.seed, args.data, args.json) == (
        "banking77",
        10,
        2,
        Path("d"),
        Path("o"),
    )
    with pytest.raises(SystemExit):
        parse(["kb", "bench", "banking77", "--data", "d", "--shots", "0", "--seed", "0", "--json", "o"])
    with pytest.raises(SystemExit):
        parse(["kb", "bench", "banking77", "--data", "d", "--json", "o"])  # --seed is required
