"""Offline evaluation of the FAQ retriever: a throw-away index, labelled queries, accuracy and latency.

Nothing here touches the database or the running knowledge base: entries are read from files and
indexed in memory only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.progress import track

from kefu_core.encoding.embedder import Embedder
from kefu_core.language import detect_language
from knowledge_base.encoder import Encoder
from knowledge_base.open_intent import open_intent_metrics, prediction
from knowledge_base.retriever import Decision, EntryDoc, FaqRetriever, Thresholds
from knowledge_base.thresholds import DEFAULT_THRESHOLDS, with_open_quantile, with_own_encoders

STATUSES = frozenset({"draft", "published", "archived"})  # knowledge_base.models.FaqStatus
SWEEP_STEPS = [round(x * 0.02, 2) for x in range(51)]  # answer thresholds 0.00 .. 1.00


class EvalInputError(ValueError):
    """A bad input file or line; the message names the file and the line."""


@dataclass(frozen=True)
class Query:
    """One labelled question; `expected_id` None means the base cannot answer it."""

    text: str
    expected_id: str | None
    language: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What the retriever did with one query."""

    query: Query
    language: str
    decision: Decision
    ranked_ids: tuple[str, ...]
    scores: tuple[float, ...]
    took_ms: float


def _rows(path: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line of a JSONL file."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise EvalInputError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalInputError(f"{path}: cannot read: {exc}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalInputError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise EvalInputError(f"{path}:{number}: expected a JSON object")
        yield number, row


def _text(row: dict[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    value = row.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise EvalInputError(f"{where}: `{key}` must be a non-empty string")
    return value


def load_kb(path: Path) -> list[EntryDoc]:
    """Published entries of an import-format JSONL file (drafts and archived entries are skipped)."""
    entries: list[EntryDoc] = []
    seen: set[str] = set()
    for number, row in _rows(path):
        where = f"{path}:{number}"
        faq_id = _text(row, "id", where)
        assert faq_id is not None
        if faq_id in seen:
            raise EvalInputError(f"{where}: duplicate id {faq_id!r}")
        seen.add(faq_id)
        variants = row.get("variants") or []
        if not isinstance(variants, list) or not all(isinstance(v, str) and v.strip() for v in variants):
            raise EvalInputError(f"{where}: `variants` must be a list of non-empty strings")
        status = row.get("status", "published")
        if status not in STATUSES:
            raise EvalInputError(f"{where}: `status` must be one of {sorted(STATUSES)}")
        question, answer = _text(row, "question", where), _text(row, "answer", where)
        language = _text(row, "language", where)
        category = _text(row, "category", where, required=False)
        assert question is not None and answer is not None and language is not None
        if status == "published":
            entries.append(EntryDoc(faq_id, question, answer, language, category, tuple(variants)))
    if not entries:
        raise EvalInputError(f"{path}: no published entries")
    return entries


def load_queries(path: Path, known_ids: Iterable[str] | None = None) -> list[Query]:
    """Labelled queries `{"text", "expected_id", "language"?}`; unknown expected ids are an error."""
    known = set(known_ids) if known_ids is not None else None
    queries: list[Query] = []
    for number, row in _rows(path):
        where = f"{path}:{number}"
        text = _text(row, "text", where)
        assert text is not None
        if "expected_id" not in row:
            raise EvalInputError(f"{where}: `expected_id` is missing (use null for unanswerable)")
        expected = _text(row, "expected_id", where, required=False)
        if known is not None and expected is not None and expected not in known:
            raise EvalInputError(f"{where}: expected_id {expected!r} is not a published entry")
        queries.append(Query(text, expected, _text(row, "language", where, required=False)))
    if not queries:
        raise EvalInputError(f"{path}: no queries")
    return queries


def build_retriever(
    entries: Sequence[EntryDoc],
    embedder: Embedder | None = None,
    thresholds: dict[str, Thresholds] | None = None,
    encoders: Mapping[str, Encoder] | None = None,
    open_quantile: float = 0.0,
) -> FaqRetriever:
    """An in-memory retriever over `entries` (the running knowledge base is not involved); `encoders`
    gives a language its own model (`runtime.language_embedders`), `open_quantile` > 0 turns open-intent
    abstention on (its calibration is finished before this returns)."""
    if open_quantile > 0:
        base = thresholds or with_own_encoders(DEFAULT_THRESHOLDS, encoders or {})
        thresholds = with_open_quantile(base, open_quantile)
    retriever = FaqRetriever(embedder or Embedder(), thresholds, encoders=encoders)
    retriever.build(entries)
    retriever.wait_for_background()  # a large base calibrates in a thread: measure the rule, not its absence
    return retriever


def run_queries(
    retriever: FaqRetriever,
    entries: Sequence[EntryDoc],
    queries: Sequence[Query],
    *,
    k: int = 3,
    progress: bool = True,
) -> list[Outcome]:
    """Ask every query; its language is given, else its expected entry's, else detected from the text."""
    entry_language = {e.faq_id: e.language for e in entries}
    for language in {e.language for e in entries}:  # first calls pay one-off set-up; keep it out of latency
        retriever.search("warm-up", language=language)
    outcomes: list[Outcome] = []
    for query in track(queries, description="queries", disable=not progress, transient=True):
        language = (
            query.language or entry_language.get(query.expected_id or "") or detect_language(query.text)
        )
        result = retriever.search(query.text, language=language, k=k)
        outcomes.append(
            Outcome(
                query,
                language,
                result.decision,
                tuple(h.faq_id for h in result.results),
                tuple(h.score for h in result.results),
                result.took_ms,
            )
        )
    return outcomes


def _share(hits: int, total: int) -> float | None:
    # None rather than 0 when nothing was asked: "no data" must not read as "always wrong".
    return round(hits / total, 4) if total else None


def compute_metrics(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """top1 / top3 (decision ignored), in-scope accuracy (decision not none), none rate, mix, latency."""
    answerable = [o for o in outcomes if o.query.expected_id is not None]
    unanswerable = [o for o in outcomes if o.query.expected_id is None]
    top1 = sum(1 for o in answerable if o.ranked_ids[:1] == (o.query.expected_id,))
    top3 = sum(1 for o in answerable if o.query.expected_id in o.ranked_ids[:3])
    in_scope = sum(
        1 for o in answerable if o.decision != "none" and o.ranked_ids[:1] == (o.query.expected_id,)
    )
    decisions = {d: sum(1 for o in outcomes if o.decision == d) for d in ("answer", "clarify", "none")}
    latencies = np.asarray([o.took_ms for o in outcomes], dtype=np.float64)
    return {
        "n": len(outcomes),
        "n_answerable": len(answerable),
        "n_unanswerable": len(unanswerable),
        "top1": _share(top1, len(answerable)),
        "top3": _share(top3, len(answerable)),
        "in_scope_accuracy": _share(in_scope, len(answerable)),
        "none_rate_unanswerable": _share(sum(o.decision == "none" for o in unanswerable), len(unanswerable)),
        "decisions": decisions,
        "latency_ms": {
            "p50": round(float(np.percentile(latencies, 50)), 2) if len(latencies) else None,
            "p99": round(float(np.percentile(latencies, 99)), 2) if len(latencies) else None,
            "mean": round(float(latencies.mean()), 2) if len(latencies) else None,
        },
    }


def threshold_sweep(
    outcomes: Sequence[Outcome], thresholds: dict[str, Thresholds], steps: Sequence[float] = SWEEP_STEPS
) -> list[dict[str, Any]]:
    """Per answer threshold: share of queries answered and how many of those were right.

    The margin rule of each language is kept, so a point is exactly what the retriever would answer
    with that threshold. Unanswerable queries that get answered count as wrong.
    """
    points = []
    for step in steps:
        answered = right = 0
        for o in outcomes:
            if not o.scores:
                continue
            margin = thresholds.get(o.language, Thresholds()).margin
            runner_up = o.scores[1] if len(o.scores) > 1 else 0.0
            if o.scores[0] >= step and o.scores[0] - runner_up >= margin:
                answered += 1
                right += o.ranked_ids[0] == o.query.expected_id
        points.append(
            {
                "threshold": step,
                "answer_rate": _share(answered, len(outcomes)),
                "answered_accuracy": _share(right, answered),
                "answered": answered,
            }
        )
    return points


def evaluate(
    entries: Sequence[EntryDoc],
    queries: Sequence[Query],
    embedder: Embedder | None = None,
    *,
    progress: bool = True,
    encoders: Mapping[str, Encoder] | None = None,
    open_quantile: float = 0.0,
) -> dict[str, Any]:
    """Index `entries` in memory, ask `queries`, and return the metrics plus the threshold sweep.

    `encoders` gives a language its own model; `embedding_models` names the model each language used.
    When some queries expect no entry, the report also has `open_intent` (see `open_intent_metrics`).
    `open_quantile` > 0 turns open-intent abstention on (and is then reported).
    """
    retriever = build_retriever(entries, embedder, encoders=encoders, open_quantile=open_quantile)
    outcomes = run_queries(retriever, entries, queries, progress=progress)
    report = compute_metrics(outcomes)
    report["entries"] = len(entries)
    report["answer_thresholds"] = {lang: th.answer for lang, th in retriever.thresholds.items()}
    report["sweep"] = threshold_sweep(outcomes, retriever.thresholds)
    report["embedding_models"] = {
        lang: str(retriever.encoder_for(lang).model_path) for lang in sorted({e.language for e in entries})
    }
    if open_quantile > 0:
        report["open_quantile"] = open_quantile
    if report["n_unanswerable"]:  # questions the base does not cover: score it as open-intent detection
        report["open_intent"] = open_intent_metrics(
            (o.query.expected_id, prediction(o.decision, o.ranked_ids)) for o in outcomes
        )
    return report
