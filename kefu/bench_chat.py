"""Chat turn latency through crm_bridge + Rasa + the action server, on a fresh SQLite stack."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
from rich.progress import track

from kefu.benchlib import fresh_stack, latency_summary, machine, now_iso, write_doc_section, yes_no
from kefu.model import ensure_model

# What customers send, in both languages: FAQ questions and small talk.
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


def run(out: Path, turns: int = 200) -> dict[str, Any]:
    """200 sequential turns (after a warm-up); p50/p95 latency and failed turns."""
    stack = fresh_stack(out, "chat-stack", ensure_model())
    print(">> chat: starting Rasa, the action server and crm_bridge", flush=True)
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
    lat = latency_summary(latencies)
    stamp = now_iso()
    result: dict[str, Any] = {
        "benchmark": "chat_turn_latency",
        "turns": turns,
        "errors": errors,
        "latency_ms": lat,
        "target": {"p50_ms": 80},
        "met": lat["p50"] <= 80 and errors == 0,
        "database": "sqlite",
        "machine": machine(),
        "measured_at": stamp,
    }
    write_doc_section(
        "chat",
        "Chat turn latency",
        [
            "| measure | value | target | met |",
            "| --- | --- | --- | --- |",
            f"| p50 over {turns} sequential turns | {lat['p50']} ms | ≤ 80 ms | {yes_no(lat['p50'] <= 80)} |",
            f"| p95 | {lat['p95']} ms | — | — |",
            f"| mean / max | {lat['mean']} / {lat['max']} ms | — | — |",
            f"| failed turns | {errors} | 0 | {yes_no(errors == 0)} |",
            "",
            f"{stamp}, {machine()['cpus']} cores, SQLite; crm_bridge + Rasa 3.6.21 + action server on "
            "loopback; English and Chinese FAQ questions and small talk (`var/bench/chat.json`).",
        ],
    )
    return result
