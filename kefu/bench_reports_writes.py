"""Part of `make bench --only reports`: what the rollup's listeners cost a chat turn (a customer message and
the bot's reply stored through the conversations service and committed), with the listeners on and off in
the same process, blocks interleaved; and the docs/benchmarks.md section."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from crm_bridge.contacts.models import Contact
from crm_bridge.conversations import service as conversations
from crm_bridge.conversations.models import Conversation, MessageRole
from crm_bridge.reports import listeners
from kefu.benchlib import latency_summary
from kefu_core.db import make_engine

# Every hook of crm_bridge/reports/listeners.py, as registered there.
HOOKS: list[tuple[Any, str, Callable[..., Any]]] = [
    (Conversation.status, "set", listeners._status_set),
    (Session, "after_flush", listeners._after_flush),
    (Session, "do_orm_execute", listeners._bulk),
    (Session, "before_commit", listeners._before_commit),
    (Session, "after_soft_rollback", listeners._drop),
]
TURNS_PER_CONVERSATION = 10


@contextmanager
def listeners_off() -> Iterator[None]:
    """The rollup's listeners removed for the duration, registered again afterwards."""
    for target, name, fn in HOOKS:
        event.remove(target, name, fn)
    try:
        yield
    finally:
        for target, name, fn in HOOKS:
            event.listen(target, name, fn)


def listeners_on() -> bool:
    """Whether the rollup's listeners are registered (all of them)."""
    return all(event.contains(target, name, fn) for target, name, fn in HOOKS)


def _turn(engine: Any, contact_id: int) -> float:
    """One chat turn in its own session, as a request handler stores it; -> milliseconds."""
    began = time.perf_counter()
    with Session(engine) as session:
        conv = conversations.open_conversation(
            session, contact_id=contact_id, channel="widget", language="en"
        )
        conversations.add_message(
            session, conversation=conv, role=MessageRole.customer, text="Where is my order?", language="en"
        )
        conversations.add_message(
            session, conversation=conv, role=MessageRole.bot, text="Let me look that up.", language="en"
        )
        session.commit()
    return (time.perf_counter() - began) * 1000


def write_cost(url: str, turns: int = 300, block: int = 50) -> dict[str, Any]:
    """`turns` chat turns with the listeners on and as many off, in alternating blocks of `block` turns
    (10 turns per conversation, each block on new contacts); mean, percentiles and the ratio on/off."""
    engine = make_engine(url)
    blocks = 2 * max(1, turns // block)
    with Session(engine) as session:
        contacts = [
            Contact(name=f"Write bench {i}") for i in range(blocks * block // TURNS_PER_CONVERSATION + 1)
        ]
        session.add_all(contacts)
        session.commit()
        ids = [c.id for c in contacts]
    _turn(engine, ids.pop())  # connection and statement caches warm
    times: dict[str, list[float]] = {"on": [], "off": []}
    for b in range(blocks):
        mode = "on" if b % 2 == 0 else "off"
        with nullcontext() if mode == "on" else listeners_off():
            assert listeners_on() is (mode == "on")
            for t in range(block):
                times[mode].append(_turn(engine, ids[(b * block + t) // TURNS_PER_CONVERSATION]))
    engine.dispose()
    on, off = latency_summary(times["on"]), latency_summary(times["off"])
    return {
        "turns_each": len(times["on"]),
        "block": block,
        "listeners_on_ms": on,
        "listeners_off_ms": off,
        "ratio_mean": round(on["mean"] / off["mean"], 2),
        "ratio_p50": round(on["p50"] / off["p50"], 2),
    }


def doc_lines(result: dict[str, Any], yes_no: Callable[[bool], str]) -> list[str]:
    """The docs/benchmarks.md section of a reports result."""
    lines = [
        "| backend | request | p50 | p95 | max | p95 ≤ 500 ms |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for kind, b in result["backends"].items():
        for name, r in b["requests"].items():
            lat = r["latency_ms"]
            met = yes_no(r["met"])
            lines.append(f"| {kind} | {name} | {lat['p50']} ms | {lat['p95']} ms | {lat['max']} ms | {met} |")
    lines += [
        "",
        "| backend | conversations | messages | bulk load | `kefu reports rebuild` | chat turn, listeners on "
        "(mean / p95) | off (mean / p95) | on ÷ off (mean) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for kind, b in result["backends"].items():
        rows, w = b["rows"], b["write_side"]
        on, off = w["listeners_on_ms"], w["listeners_off_ms"]
        lines.append(
            f"| {kind} | {rows['conversations']:,} | {rows['messages']:,} | {b['load_s']} s | "
            f"{b['rebuild']['wall_s']} s | {on['mean']} / {on['p95']} ms | {off['mean']} / {off['p95']} ms | "
            f"{w['ratio_mean']} |"
        )
    loads = ", ".join(
        f"{k} {b['load_average'][0]}-{b['load_average'][1]}"
        for k, b in result["backends"].items()
        if "load_average" in b
    )
    any_b = next(iter(result["backends"].values()))
    r = any_b["rows"]
    first = next(iter(any_b["requests"].values()))
    lines += [
        "",
        f"Approach: a rollup, `conversation_facts` (one row per conversation, kept by listeners in the "
        f"committing transaction, rebuilt by `kefu reports rebuild`), with indexes on `started_at` and "
        f"`(contact_id, started_at)` (decision 0016). Each request {first['n']} times after warm-up, one "
        f"at a time, as an admin over HTTP to one uvicorn worker of crm_bridge on 127.0.0.1; "
        f"`KEFU_TIMEZONE=Asia/Shanghai`, `KEFU_BUSINESS_HOURS=Mon-Fri 09:00-18:00`.",
        f"Synthetic history over ~{result['sizes']['postgresql']['days']} days "
        f"(kefu/bench_reports_history.py): "
        f"{r['contacts']:,} contacts, {r['escalations']:,} escalations, {r['kb_decisions']:,} KB decisions, "
        f"{r['tickets']:,} tickets with SLA due times, {r['survey_offers']:,} survey offers, "
        f"{r['feedback']:,} ratings, {r['conversation_facts']:,} reopened conversations; availability probes "
        f"for the last {result['sizes']['postgresql']['probe_days']} days only ({r['service_probes']:,} "
        f"minutes). Written with COPY (PostgreSQL) and Core executemany (SQLite).",
        f"Write side: a chat turn (customer message and bot reply through the conversations service, one "
        f"commit) on the loaded database, {any_b['write_side']['turns_each']} turns with the listeners on "
        f"and as many off, alternating blocks of {any_b['write_side']['block']}.",
        f"{result['measured_at']}, {result['machine']['cpus']} cores shared with other work"
        + (f" (1-minute load average before and after the requests: {loads})" if loads else "")
        + " (`var/bench/reports.json`).",
    ]
    return lines
