"""`make bench`: measurements written as JSON under var/bench/ and as a table in docs/benchmarks.md."""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from rich.progress import track

from kefu.bootstrap import prepare_database
from kefu.model import ensure_model
from kefu.paths import ROOT
from kefu.stack import Ports, Stack

DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench:chat:begin -->", "<!-- bench:chat:end -->"

# Questions a customer might send, in both languages (mixed into the 200 turns).
QUESTIONS = [
    "How long does delivery take?",
    "退货需要多久?",
    "hello",
    "Can I pay with PayPal?",
    "运费多少钱",
    "thanks",
    "How do I reset my password?",
    "可以开发票吗",
]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q / 100
    low, high = int(pos), min(int(pos) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def bench_chat(out: Path, turns: int) -> dict[str, Any]:
    """Chat turn latency through crm_bridge + Rasa + actions, sequential, on a fresh SQLite stack."""
    var = out / "chat-stack"
    shutil.rmtree(var, ignore_errors=True)
    var.mkdir(parents=True)
    url = f"sqlite:///{var / 'kefu.db'}"
    prepare_database(url)
    stack = Stack(
        model=ensure_model(), ports=Ports.free(), var=var, env={"DATABASE_URL": url, "KEFU_VAR_DIR": str(var)}
    )
    print(">> starting the stack for the chat benchmark", flush=True)
    stack.start(timeout=300)
    latencies: list[float] = []
    errors = 0
    try:
        with httpx.Client(base_url=stack.api_url, timeout=30) as client:
            for i in range(10):  # warm-up: model caches, connection pools
                client.post("/api/v1/chat", json={"user_id": "warm", "text": QUESTIONS[i % len(QUESTIONS)]})
            for i in track(range(turns), description="chat turns"):
                body = {"user_id": f"bench-{i % 20}", "text": QUESTIONS[i % len(QUESTIONS)]}
                started = time.perf_counter()
                response = client.post("/api/v1/chat", json=body)
                latencies.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200 or not response.json()["messages"]:
                    errors += 1
    finally:
        stack.stop()
    return {
        "benchmark": "chat_turn_latency",
        "turns": turns,
        "errors": errors,
        "latency_ms": {
            "p50": round(percentile(latencies, 50), 1),
            "p95": round(percentile(latencies, 95), 1),
            "mean": round(statistics.fmean(latencies), 1),
            "max": round(max(latencies), 1),
        },
        "target": {"p50_ms": 80},
        "met": percentile(latencies, 50) <= 80 and errors == 0,
        "database": "sqlite",
        "machine": {"cpus": _cpus(), "python": platform.python_version()},
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


def write_doc_section(result: dict[str, Any]) -> None:
    """Replace the chat section of docs/benchmarks.md with the new figures."""
    lat = result["latency_ms"]
    table = "\n".join(
        [
            BEGIN,
            "| measure | value | target | met |",
            "| --- | --- | --- | --- |",
            f"| chat turn p50 ({result['turns']} sequential turns) | {lat['p50']} ms | ≤ 80 ms | "
            f"{'yes' if lat['p50'] <= 80 else 'no'} |",
            f"| chat turn p95 | {lat['p95']} ms | — | — |",
            f"| chat turn mean / max | {lat['mean']} / {lat['max']} ms | — | — |",
            f"| failed turns | {result['errors']} | 0 | {'yes' if result['errors'] == 0 else 'no'} |",
            "",
            f"Measured {result['measured_at']} on {result['machine']['cpus']} cores, SQLite, "
            "crm_bridge + Rasa 3.6.21 + action server on loopback (`var/bench/chat.json`).",
            END,
        ]
    )
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + table + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n## Chat turn latency (`make bench`)\n\n" + table + "\n"
    DOC.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks."""
    parser = argparse.ArgumentParser(prog="kefu-bench")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument("--turns", type=int, default=200)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    result = bench_chat(args.out, args.turns)
    (args.out / "chat.json").write_text(json.dumps(result, indent=2) + "\n")
    write_doc_section(result)
    print(json.dumps(result["latency_ms"]), "errors:", result["errors"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
