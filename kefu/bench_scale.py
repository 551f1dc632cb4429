"""`make bench --only scale` (issue 24): the cost of a turn, as CPU-seconds per 1,000 customer turns for
each process kind (crm_bridge with its in-app queue workers, Rasa, the action server) and summed, so
capacity can be planned per core.

Two versions run side by side on loopback, each the real stack started by its own code: the checkout, and a
git worktree of the commit before the one-encoding-per-turn work (BASELINE). Rounds are interleaved
(baseline, current, current, baseline, ...), the version not measured is paused (SIGSTOP), and every version
gets the same customers saying the same distinct messages."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from statistics import median
from typing import Any

import httpx

from kefu.bench_scale_messages import conversations
from kefu.bench_scale_stack import KINDS, ScaleStack
from kefu.bench_security_servers import Worktree
from kefu.benchlib import latency_summary, machine, now_iso, write_doc_section, yes_no
from kefu_core.paths import ROOT

BASELINE = "7d44911"  # the last commit before this work (issue 24's dependencies)
TARGET = 0.30  # at least 30 % less CPU per 1,000 turns, summed over the processes
CUSTOMERS_PER_ROUND = 40
TURNS = 4  # per customer: a greeting, two FAQ questions, thanks
CONCURRENCY = 4  # customers at once
SETTLE_S = 1.0  # after a block: work the last replies left behind (events, the outbox) is counted too


async def _drive(url: str, customers: list[list[str]], tag: str) -> dict[str, Any]:
    """Each customer's messages in order over POST /api/v1/chat, CONCURRENCY customers at once."""
    latencies: list[float] = []
    failed = 0
    pending = list(enumerate(customers))
    limits = httpx.Limits(max_connections=CONCURRENCY + 2)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:

        async def lane() -> None:
            nonlocal failed
            while pending:
                index, messages = pending.pop(0)
                for text in messages:
                    started = time.perf_counter()
                    try:
                        response = await client.post(
                            "/api/v1/chat", json={"user_id": f"{tag}-{index}", "text": text}
                        )
                        answer = response.json() if response.status_code == 200 else {}
                        good = bool(answer.get("messages")) and not answer.get("pending")
                    except httpx.HTTPError:
                        good = False
                    latencies.append((time.perf_counter() - started) * 1000)
                    failed += not good

        started = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(CONCURRENCY)))
        seconds = time.perf_counter() - started
    return {"turns": len(latencies), "failed": failed, "seconds": round(seconds, 2), "latencies": latencies}


def measure(stack: ScaleStack, customers: list[list[str]], tag: str) -> dict[str, Any]:
    """One block: the CPU each process kind spent on these customers' turns (settling time included)."""
    before = stack.cpu()
    driven = asyncio.run(_drive(stack.api, customers, tag))
    time.sleep(SETTLE_S)
    after = stack.cpu()
    cpu = {kind: round(after[kind] - before[kind], 2) for kind in KINDS}
    return {**driven, "cpu_s": cpu}


def per_thousand(blocks: list[dict[str, Any]]) -> dict[str, float]:
    """CPU-seconds per 1,000 turns per process kind and in total, over the given blocks."""
    turns = sum(b["turns"] for b in blocks)
    out = {kind: round(sum(b["cpu_s"][kind] for b in blocks) * 1000 / turns, 1) for kind in KINDS}
    out["total"] = round(sum(out[kind] for kind in KINDS), 1)
    return out


def run(out: Path, rounds: int = 4, baseline: str = BASELINE) -> dict[str, Any]:
    """Both versions, `rounds` interleaved rounds of CUSTOMERS_PER_ROUND customers each; results and the
    docs table."""
    tree = Worktree(baseline)
    stacks: list[ScaleStack] = []
    plan = conversations(CUSTOMERS_PER_ROUND * (rounds + 1), TURNS)
    warm, measured = plan[:CUSTOMERS_PER_ROUND], plan[CUSTOMERS_PER_ROUND:]
    blocks: dict[str, list[dict[str, Any]]] = {"baseline": [], "current": []}
    try:
        stacks = [ScaleStack("baseline", tree.add(), out), ScaleStack("current", ROOT, out)]
        for stack in stacks:  # one at a time: two Rasa servers loading at once would crowd two cores
            print(f">> scale: starting {stack.name} ({stack.tree})", flush=True)
            stack.start()
            stack.pause()
        for stack in stacks:
            stack.resume()
            measure(stack, warm, f"warm-{stack.name}")  # model caches, pools, ONNX Runtime's first runs
            stack.pause()
        for number in range(rounds):
            chunk = measured[number * CUSTOMERS_PER_ROUND : (number + 1) * CUSTOMERS_PER_ROUND]
            order = stacks if number % 2 == 0 else stacks[::-1]
            print(f">> scale: round {number + 1} of {rounds} ({' then '.join(s.name for s in order)})")
            for stack in order:
                stack.resume()
                try:
                    block = measure(stack, chunk, f"r{number}-{stack.name}")
                finally:
                    stack.pause()
                blocks[stack.name].append({"round": number + 1, **block})
    finally:
        for stack in stacks:
            stack.stop()
        tree.remove()
    return report(blocks, rounds, tree.sha)


def report(blocks: dict[str, list[dict[str, Any]]], rounds: int, sha: str) -> dict[str, Any]:
    """The result, and the docs/benchmarks.md section."""
    costs = {name: per_thousand(bs) for name, bs in blocks.items()}
    per_round = {
        name: [per_thousand([b])["total"] for b in bs] for name, bs in blocks.items()
    }  # the spread between rounds is the noise
    reduction = {
        kind: round(1 - costs["current"][kind] / costs["baseline"][kind], 3)
        if costs["baseline"][kind]
        else 0.0
        for kind in (*KINDS, "total")
    }
    paired = [round(1 - c / b, 3) for b, c in zip(per_round["baseline"], per_round["current"], strict=True)]
    latency = {name: latency_summary([x for b in bs for x in b["latencies"]]) for name, bs in blocks.items()}
    failed = {name: sum(b["failed"] for b in bs) for name, bs in blocks.items()}
    met = reduction["total"] >= TARGET and failed["current"] == 0
    stamp = now_iso()
    result = {
        "benchmark": "scale_cost_of_a_turn",
        "baseline_commit": sha,
        "cpu_s_per_1000_turns": costs,
        "reduction": reduction,
        "per_round_total": per_round,
        "paired_reduction": paired,
        "median_paired_reduction": round(median(paired), 3),
        "latency_ms": latency,
        "failed": failed,
        "blocks": {
            n: [{k: v for k, v in b.items() if k != "latencies"} for b in bs] for n, bs in blocks.items()
        },
        "target": {"reduction_total": TARGET},
        "met": met,
        "machine": machine(),
        "measured_at": stamp,
    }
    turns = {name: sum(b["turns"] for b in bs) for name, bs in blocks.items()}
    lines = [
        "| process | baseline CPU-s / 1,000 turns | current | reduction |",
        "| --- | --- | --- | --- |",
        *(
            f"| {kind} | {costs['baseline'][kind]} | {costs['current'][kind]} | {reduction[kind]:.0%} |"
            for kind in KINDS
        ),
        f"| **sum** | {costs['baseline']['total']} | {costs['current']['total']} "
        f"| {reduction['total']:.0%} |",
        "",
        f"- target: sum at least {TARGET:.0%} lower: {yes_no(met)}; per round (paired, measured moments "
        f"apart): {', '.join(f'{p:.0%}' for p in paired)}.",
        f"- turns per core-second (sum): baseline {1000 / costs['baseline']['total']:.1f}, current "
        f"{1000 / costs['current']['total']:.1f}.",
        f"- turn latency p50 / p95: baseline {latency['baseline']['p50']} / {latency['baseline']['p95']} ms, "
        f"current {latency['current']['p50']} / {latency['current']['p95']} ms; failed turns: baseline "
        f"{failed['baseline']}, current {failed['current']}.",
        "",
        f"{stamp}, {machine()['cpus']} cores shared with other work. Baseline: a git worktree of "
        f"{sha} (before this work); current: the checkout. Each is the real stack (crm_bridge, "
        "Rasa 3.6 with the trained model, the action server) started by its own code on loopback "
        f"over a fresh SQLite database. {turns['current']} turns per version in {rounds} "
        "interleaved rounds (order turning, the other version paused with SIGSTOP), after "
        f"{CUSTOMERS_PER_ROUND * TURNS} warm-up turns: {CUSTOMERS_PER_ROUND} customers per round, "
        f"{CONCURRENCY} at once, {TURNS} turns each (greeting, two FAQ questions, thanks), English "
        "and Chinese alternating, every text distinct. CPU is user + system time of each "
        "service's process group from /proc (threads and children included), read before and "
        f"after each block (plus {SETTLE_S:g} s for trailing work) (`var/bench/scale.json`).",
    ]
    write_doc_section("scale", "Scale: cost of a turn", lines)
    return result
