"""`make bench` kb section, continued: BANKING77 open intent (ratios x seeds) and ATEC (seeds 0-2)."""

from __future__ import annotations

import os
import statistics
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kefu.benchlib import yes_no
from kefu_core.encoding.embedder import Embedder
from kefu_core.paths import ROOT
from kefu_core.settings import get_settings
from knowledge_base.atec import run_atec
from knowledge_base.banking77 import load_banking77_open
from knowledge_base.encoder import Encoder
from knowledge_base.evaluate import EvalInputError, evaluate
from knowledge_base.open_intent import summarise_runs

# Like KEFU_BANKING77_DIR: the shared datasets sit beside the checkout unless KEFU_ATEC_DIR says otherwise.
ATEC = Path(os.environ.get("KEFU_ATEC_DIR", ROOT.parent / "shared" / "datasets" / "atec"))
RATIOS = (0.25, 0.5, 0.75)
OPEN_SEEDS = (0, 1, 2, 3, 4)
ATEC_SEEDS = (0, 1, 2)
ATEC_GROUPS = 2000
OPEN_KEYS = ("accuracy", "macro_f1", "open_f1", "known_f1", "open_recall", "known_answered_accuracy")
# Zhang et al., AAAI 2021 (ADB), BANKING, accuracy over known intents + open, by known ratio.
ADB_ACCURACY = {0.25: 0.7885, 0.5: 0.7886, 0.75: 0.8108}
ADB_MACRO_F1 = {0.25: 0.7162, 0.5: 0.8090, 0.75: 0.8596}
MSP_ACCURACY = {0.25: 0.4367, 0.5: 0.5973, 0.75: 0.7589}
OPEN_TARGET = {0.25: 0.79, 0.5: 0.79, 0.75: 0.81}
ATEC_TARGET_RATIO = 1.5


def _label(ratio: float) -> str:
    return f"{round(100 * ratio)}%"


def run_open_intent(
    embedder: Embedder, data: Path, encoders: Mapping[str, Encoder] | None = None
) -> dict[str, Any]:
    """Every ratio over seeds 0-4: per-run open-intent metrics and decisions, and their mean and spread
    (`encoders`: the languages with a model of their own)."""
    by_ratio: dict[str, Any] = {}
    quantile = get_settings().kb_open_quantile  # measured as the app runs it
    for ratio in RATIOS:
        runs: dict[str, Any] = {}
        for seed in OPEN_SEEDS:
            print(f">> kb: BANKING77 open intent, {_label(ratio)} known, seed {seed}", flush=True)
            entries, queries = load_banking77_open(data, known_ratio=ratio, seed=seed)
            report = evaluate(entries, queries, embedder, encoders=encoders, open_quantile=quantile)
            runs[str(seed)] = {
                **report["open_intent"],
                "known_intents": len(entries),
                "decisions": report["decisions"],
            }
        by_ratio[_label(ratio)] = {
            "known_ratio": ratio,
            "runs": runs,
            "summary": summarise_runs(list(runs.values()), OPEN_KEYS),
        }
    met = {
        _label(r): (by_ratio[_label(r)]["summary"]["accuracy"]["mean"] or 0.0) >= OPEN_TARGET[r]
        for r in RATIOS
    }
    return {
        "data": str(data),
        "seeds": list(OPEN_SEEDS),
        "open_quantile": quantile,
        "by_ratio": by_ratio,
        "met": met,
    }


def run_atec_bench(
    embedder: Embedder, encoders: Mapping[str, Encoder] | None = None
) -> dict[str, Any] | None:
    """ATEC over seeds 0-2 (kefu beside both baselines); None with a message when the data is missing
    (`encoders`: the languages with a model of their own)."""
    runs: dict[str, Any] = {}
    try:
        for seed in ATEC_SEEDS:
            print(f">> kb: ATEC, {ATEC_GROUPS} paraphrase groups, seed {seed}", flush=True)
            runs[str(seed)] = run_atec(
                ATEC, seed=seed, groups=ATEC_GROUPS, embedder=embedder, encoders=encoders
            )
    except EvalInputError as exc:  # the data is not part of the repository; a missing copy is a miss
        print(f"!! kb: ATEC skipped: {exc}", flush=True)
        return None

    def mean(method: str, key: str) -> float:
        return round(statistics.mean(run[method][key] for run in runs.values()), 4)

    methods = ("kefu", "tfidf_char", "bm25_jieba")
    means = {m: {"top1": mean(m, "top1"), "top3": mean(m, "top3")} for m in methods}
    ratio = (
        round(means["kefu"]["top1"] / means["tfidf_char"]["top1"], 3) if means["tfidf_char"]["top1"] else None
    )
    return {
        "data": str(ATEC),
        "groups": ATEC_GROUPS,
        "seeds": list(ATEC_SEEDS),
        "runs": runs,
        "mean": means,
        "top1_ratio_vs_tfidf": ratio,
        "met": ratio is not None and ratio >= ATEC_TARGET_RATIO,
    }


def _spread(stats: dict[str, float | None]) -> str:
    if stats["mean"] is None:
        return "not measured"
    sd = "" if stats["sd"] is None else f" ± {100 * stats['sd']:.2f}"
    return f"{100 * stats['mean']:.2f}{sd} %"


def open_intent_rows(open_intent: dict[str, Any] | None) -> list[str]:
    """Table rows: per known ratio, accuracy (target, anchor), macro-F1 and open-F1 as mean ± sd."""
    if not open_intent:
        return [
            f"| BANKING77 open intent, {_label(r)} known: accuracy | not measured "
            f"| ≥ {100 * OPEN_TARGET[r]:.0f} % | — | **no** |"
            for r in RATIOS
        ]
    rows = []
    seeds = f"seeds {OPEN_SEEDS[0]}–{OPEN_SEEDS[-1]}"
    if "open_quantile" in open_intent:  # absent from results written before abstention became the default
        seeds += f", KEFU_KB_OPEN_QUANTILE={open_intent['open_quantile']:g}"
    for ratio in RATIOS:
        block = open_intent["by_ratio"][_label(ratio)]
        summary, met = block["summary"], open_intent["met"][_label(ratio)]
        accuracy = summary["accuracy"]
        span = (
            f"{100 * accuracy['min']:.2f}–{100 * accuracy['max']:.2f} %"
            if accuracy["min"] is not None
            else ""
        )
        rows += [
            f"| BANKING77 open intent, {_label(ratio)} known: accuracy (mean ± sd, {seeds}) "
            f"| {_spread(accuracy)} | ≥ {100 * OPEN_TARGET[ratio]:.0f} % "
            f"| ADB {100 * ADB_ACCURACY[ratio]:.2f} %, "
            f"MSP {100 * MSP_ACCURACY[ratio]:.2f} %; range {span} | {yes_no(met)} |",
            f"| BANKING77 open intent, {_label(ratio)} known: macro-F1 | {_spread(summary['macro_f1'])} | — "
            f"| ADB {100 * ADB_MACRO_F1[ratio]:.2f} % | — |",
            f"| BANKING77 open intent, {_label(ratio)} known: open-class F1 | {_spread(summary['open_f1'])} "
            f"| reported | open recall {_spread(summary['open_recall'])} | — |",
        ]
        if "known_answered_accuracy" in summary:
            rows.append(
                f"| BANKING77 open intent, {_label(ratio)} known: known questions answered right "
                f"| {_spread(summary['known_answered_accuracy'])} | reported | the price of refusing | — |"
            )
    return rows


def atec_rows(atec: dict[str, Any] | None) -> list[str]:
    """Table rows: ATEC top-1/top-3 of kefu and both baselines (means over seeds) and the ratio target."""
    if not atec:
        return [
            f"| ATEC top-1, kefu / character TF-IDF | not measured | ≥ {ATEC_TARGET_RATIO}× | — | **no** |"
        ]
    mean, seeds = atec["mean"], f"{atec['groups']:,} groups, mean of seeds {ATEC_SEEDS[0]}–{ATEC_SEEDS[-1]}"
    names = (("kefu", "kefu"), ("tfidf_char", "character TF-IDF"), ("bm25_jieba", "BM25 over jieba words"))
    rows = [
        f"| ATEC top-1 / top-3, {label} ({seeds}) | {100 * mean[key]['top1']:.2f} / "
        f"{100 * mean[key]['top3']:.2f} % | — | same groups, same run | — |"
        for key, label in names
    ]
    rows.append(
        f"| ATEC top-1, kefu / character TF-IDF | {atec['top1_ratio_vs_tfidf']}× | ≥ {ATEC_TARGET_RATIO}× "
        f"| — | {yes_no(atec['met'])} |"
    )
    return rows
