"""Dialogue benchmark: NLU 5-fold cross-validation, test-story accuracy, training time, flow turn latency."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
from rich.progress import track

from kefu.benchlib import fresh_stack, latency_summary, machine, now_iso, write_doc_section, yes_no
from kefu.model import RASA_BIN, ensure_model, rasa_env
from kefu_core.paths import ROOT

STORIES = ROOT / "tests" / "bot" / "test_stories.yml"
# Why a macro-F1 miss happens with this data (written under the table when the target is missed).
MISS_NOTE = (
    " Held-out errors are mostly between intents close in meaning (a no that closes the chat: deny or "
    "goodbye; a problem stated with or without anger: complain or ask_faq; praise: thanks or complain) "
    "(see docs/dialogue.md)."
)
TARGETS = {"intent_macro_f1": 0.92, "story_accuracy": 1.0, "training_s": 300, "p50_ms": 80, "p95_ms": 200}
# One customer's conversation through the flows (tickets, status, contact, complaint, human, feedback).
SCRIPT = [
    "hello",
    "How long does delivery take?",
    "I want to open a ticket",
    "The mug in my parcel arrived broken",
    "bench.customer@example.com",
    "no",
    "what's the status of my ticket?",
    "我要投诉，快递员态度太差了",
    "不用了",
    "change my phone number",
    "13900001111",
    "yes",
    "你能做什么",
    "退货需要多久?",
    "talk to a human",
    "bye",
    "5",
    "no",
]


def _rasa(args: list[str], out: Path) -> subprocess.CompletedProcess[str]:
    env = rasa_env()
    env["RASA_CACHE_DIRECTORY"] = str(out / "rasa-cache")  # a cold cache: training time is real
    # Rasa's own output and progress bars go to the terminal (cross-validation trains five models).
    return subprocess.run([str(RASA_BIN), *args], cwd=ROOT, env=env, text=True, check=False)


def training_time(out: Path) -> float:
    """Seconds for a full `rasa train` from a cold cache."""
    started = time.monotonic()
    result = _rasa(
        ["train", "--config", "config.yml", "--domain", "bot/domain.yml", "--data", "bot/data",
         "--out", str(out / "models"), "--fixed-model-name", "bench", "--force"],
        out,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"rasa train failed (exit {result.returncode}); its output is above")
    return round(time.monotonic() - started, 1)


def nlu_cross_validation(out: Path, folds: int = 5) -> dict[str, Any]:
    """Intent macro-F1 (and accuracy) over `folds`-fold cross-validation of the shipped NLU data."""
    report_dir = out / "nlu-cv"
    result = _rasa(
        ["test", "nlu", "--nlu", "bot/data/nlu", "--config", "config.yml", "--cross-validation",
         "--folds", str(folds), "--out", str(report_dir)],
        out,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"rasa test nlu failed (exit {result.returncode}); its output is above")
    report = json.loads((report_dir / "intent_report.json").read_text())
    worst = sorted(
        ((name, row["f1-score"]) for name, row in report.items() if isinstance(row, dict) and "support" in row
         and name not in ("macro avg", "weighted avg", "micro avg")),
        key=lambda item: item[1],
    )[:3]  # fmt: skip
    return {
        "folds": folds,
        "intent_macro_f1": round(report["macro avg"]["f1-score"], 4),
        "intent_accuracy": round(report.get("accuracy", float("nan")), 4),
        "weakest_intents": {name: round(f1, 3) for name, f1 in worst},
    }


def story_accuracy(out: Path, model: Path) -> dict[str, Any]:
    """Share of test stories with no wrong prediction (NLU and dialogue)."""
    report_dir = out / "core-test"
    result = _rasa(
        ["test", "core", "--model", str(model), "--stories", str(STORIES), "--out", str(report_dir)], out
    )
    if result.returncode != 0:
        raise RuntimeError(f"rasa test core failed (exit {result.returncode}); its output is above")
    total = STORIES.read_text(encoding="utf-8").count("- story:")
    failed_file = report_dir / "failed_test_stories.yml"
    failed = failed_file.read_text(encoding="utf-8").count("- story:") if failed_file.exists() else 0
    return {"stories": total, "failed": failed, "accuracy": round((total - failed) / total, 4)}


def turn_latency(out: Path, model: Path, conversations: int = 12) -> dict[str, Any]:
    """Latency of every turn of the scripted flows through crm_bridge + Rasa + actions (sequential)."""
    stack = fresh_stack(out, "dialogue-stack", model)
    print(">> dialogue: starting Rasa, the action server and crm_bridge", flush=True)
    stack.start(timeout=300)
    latencies: list[float] = []
    errors = 0
    try:
        with httpx.Client(base_url=stack.api_url, timeout=30) as client:
            for text in SCRIPT[:4]:  # warm-up
                client.post("/api/v1/chat", json={"user_id": "warm", "text": text})
            for i in track(range(conversations), description="dialogue conversations"):
                for text in SCRIPT:
                    started = time.perf_counter()
                    response = client.post("/api/v1/chat", json={"user_id": f"bench-{i}", "text": text})
                    latencies.append((time.perf_counter() - started) * 1000)
                    if response.status_code != 200 or not response.json()["messages"]:
                        errors += 1
    finally:
        stack.stop()
    return {"turns": len(latencies), "errors": errors, "latency_ms": latency_summary(latencies)}


def run(out: Path) -> dict[str, Any]:
    """All four measures; writes the bench:dialogue section of docs/benchmarks.md."""
    out.mkdir(parents=True, exist_ok=True)
    work = out / "dialogue-work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    print(">> dialogue: training from a cold cache", flush=True)
    train_s = training_time(work)
    model = ensure_model()
    print(">> dialogue: test stories", flush=True)
    stories = story_accuracy(work, model)
    print(">> dialogue: NLU 5-fold cross-validation (five trainings)", flush=True)
    nlu = nlu_cross_validation(work)
    turns = turn_latency(out, model)
    lat = turns["latency_ms"]
    met = {
        "intent_macro_f1": nlu["intent_macro_f1"] >= TARGETS["intent_macro_f1"],
        "story_accuracy": stories["accuracy"] >= TARGETS["story_accuracy"],
        "training_s": train_s <= TARGETS["training_s"],
        "p50_ms": lat["p50"] <= TARGETS["p50_ms"],
        "p95_ms": lat["p95"] <= TARGETS["p95_ms"],
    }
    stamp = now_iso()
    result: dict[str, Any] = {
        "benchmark": "dialogue",
        "nlu_cross_validation": nlu,
        "test_stories": stories,
        "training_seconds": train_s,
        "turns": turns,
        "target": TARGETS,
        "met": met,
        "machine": machine(),
        "measured_at": stamp,
    }
    write_doc(result)
    return result


def write_doc(result: dict[str, Any]) -> None:
    """The bench:dialogue section of docs/benchmarks.md from a result (re-renderable from the JSON)."""
    nlu, stories, turns = result["nlu_cross_validation"], result["test_stories"], result["turns"]
    train_s, met, stamp = result["training_seconds"], result["met"], result["measured_at"]
    lat = turns["latency_ms"]
    write_doc_section(
        "dialogue",
        "Dialogue (Rasa NLU, test stories, training, flow turns)",
        [
            "| measure | value | target | met |",
            "| --- | --- | --- | --- |",
            f"| NLU intent macro-F1, {nlu['folds']}-fold cross-validation | {nlu['intent_macro_f1']} "
            f"| ≥ 0.92 | {yes_no(met['intent_macro_f1'])} |",
            f"| test stories without a wrong prediction | {stories['stories'] - stories['failed']} / "
            f"{stories['stories']} | 100 % | {yes_no(met['story_accuracy'])} |",
            f"| training (`rasa train`, cold cache) | {train_s} s | ≤ 300 s | {yes_no(met['training_s'])} |",
            f"| flow turn p50 ({turns['turns']} sequential turns) | {lat['p50']} ms | ≤ 80 ms "
            f"| {yes_no(met['p50_ms'])} |",
            f"| flow turn p95 | {lat['p95']} ms | ≤ 200 ms | {yes_no(met['p95_ms'])} |",
            f"| failed turns | {turns['errors']} | 0 | {yes_no(turns['errors'] == 0)} |",
            "",
            f"{stamp}, {machine()['cpus']} cores, SQLite; weakest intents in cross-validation: "
            + ", ".join(f"{k} {v}" for k, v in nlu["weakest_intents"].items())
            + ". Turns are scripted conversations through every flow (FAQ, ticket form, status, complaint, "
            "contact update, hand-off, feedback) in both languages (`var/bench/dialogue.json`)."
            + ("" if met["intent_macro_f1"] else MISS_NOTE),
        ],
    )
