"""`make bench --only channels` (issue 21): chat throughput against bare Rasa, webhook acknowledgement
under a steady rate, webhook-to-reply latency, and no lost or duplicated replies when deliveries repeat,
a worker is killed and Rasa restarts. The IM platform is the local fake Bot API from tests/fakes
(api.telegram.org cannot be reached here); Rasa, the action server and crm_bridge are the real ones."""

from __future__ import annotations

import itertools
import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx

from kefu.bench_channels_checks import ReplyLedger, post_updates, update
from kefu.bench_chat import QUESTIONS
from kefu.bench_load import kefu_post, rasa_post, run_customers
from kefu.benchlib import fresh_stack, machine, now_iso, run_wrk, write_doc_section, yes_no
from kefu.model import ensure_model
from kefu.stack import VENV_BIN, Service
from tests.fakes.telegram_server import FakeTelegram

TOKEN = "123456:BENCH-telegram-token"
SECRET = "bench-webhook-secret-0123456789"
ACK_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Telegram-Bot-Api-Secret-Token"] = "%(secret)s"
local n = 0
local base = 0
setup = function(thread) thread:set("base", math.random(1, 2000000) * 1000000) end
delay = function() return %(delay_ms)d end
request = function()
  n = n + 1
  local uid = base + n
  local chat = 7000000 + (uid %% 500)
  local body = '{"update_id": ' .. uid .. ', "message": {"message_id": ' .. n .. ', "date": 1700000000, '
    .. '"chat": {"id": ' .. chat .. ', "type": "private"}, '
    .. '"from": {"id": ' .. chat .. ', "is_bot": false, "first_name": "Bench"}, '
    .. '"text": "How long does delivery take?"}}'
  return wrk.format(nil, "/webhooks/telegram", nil, body)
end
"""


def _chat(stack: Any) -> dict[str, Any]:
    """Customers on the REST chat API vs the same mix straight to Rasa, 8 and 32 at once, 10 turns each."""
    kefu, bare = kefu_post(stack.api_url), rasa_post(stack.rasa_url, stack.rasa_token)
    run_customers(kefu, 4, 3, "warm-kefu")
    run_customers(bare, 4, 3, "warm-bare")
    rows: dict[str, Any] = {}
    for customers in (8, 32):
        print(f">> channels: {customers} customers, bare Rasa then kefu", flush=True)
        b = run_customers(bare, customers, 10, f"bare{customers}")
        k = run_customers(kefu, customers, 10, f"kefu{customers}")
        ratio = round(k.turns_per_s / b.turns_per_s, 2) if b.turns_per_s else 0.0
        rows[str(customers)] = {"bare_rasa": b.as_dict(), "kefu": k.as_dict(), "ratio": ratio}
    return rows


def _ack(stack: Any, var: Path, seconds: int) -> dict[str, Any]:
    """wrk at a steady rate against the Telegram webhook: each connection waits 100 ms between requests."""
    rows: dict[str, Any] = {}
    for rate in (100, 300):
        connections = rate // 10
        print(f">> channels: webhook acknowledgement at {rate} requests/s for {seconds} s", flush=True)
        script = ACK_LUA % {"secret": SECRET, "delay_ms": 100}
        rows[str(rate)] = run_wrk(
            stack.api_url, script, seconds=seconds, var=var, name=f"ack{rate}", connections=connections
        )
        time.sleep(5)
    return rows


def _reply_latency(stack: Any, telegram: FakeTelegram) -> dict[str, Any]:
    """50 conversations write at once; the time from each webhook to its first reply at the fake API."""
    ledger = ReplyLedger(stack.api_url.replace("http://", ""), telegram)
    chats = list(range(8_000_000, 8_000_050))
    latencies: list[float] = []
    with httpx.Client(base_url=stack.api_url, timeout=30) as client:
        for round_ in range(3):
            ids = itertools.count(int(time.time() * 1000) * 100 + round_ * 1000)
            sent = post_updates(client, SECRET, [update(next(ids), c, QUESTIONS[round_]) for c in chats])
            latencies += ledger.first_replies(sent, timeout_s=120)
    return ledger.summary(latencies)


def _robustness(stack: Any, telegram: FakeTelegram, workers: list[Service]) -> dict[str, Any]:
    """Every delivery twice; a worker killed with SIGKILL; Rasa restarted: replies lost or duplicated."""
    results: dict[str, Any] = {}
    ledger = ReplyLedger(stack.api_url.replace("http://", ""), telegram)
    with httpx.Client(base_url=stack.api_url, timeout=30) as client:
        ids = itertools.count(int(time.time() * 1000) * 100 + 50_000)
        for scenario, chats in (
            ("twice", 9_000_000),
            ("worker_killed", 9_100_000),
            ("rasa_restart", 9_200_000),
        ):
            print(f">> channels: robustness, {scenario}", flush=True)
            batch = [
                update(next(ids), chats + c, QUESTIONS[(c + t) % len(QUESTIONS)])
                for t in range(4)
                for c in range(30)
            ]
            if scenario == "twice":
                post_updates(client, SECRET, batch, twice=True)
            elif scenario == "worker_killed":
                post_updates(client, SECRET, batch[:60])
                time.sleep(1.0)
                victim = workers[0]
                assert victim.proc is not None
                os.killpg(victim.proc.pid, signal.SIGKILL)
                victim.proc.wait()
                post_updates(client, SECRET, batch[60:])
                workers[0] = _worker(stack, "jobs-worker-1b")
            else:
                post_updates(client, SECRET, batch[:60])
                rasa = next(s for s in stack.services if s.name == "rasa")
                rasa.stop()
                post_updates(client, SECRET, batch[60:])
                rasa.start()
                _wait_ready(rasa, 300)
            results[scenario] = ledger.check(stack, batch, timeout_s=300)
    return results


def _worker(stack: Any, name: str) -> Service:
    service = Service(
        name,
        [str(VENV_BIN / "kefu"), "jobs", "worker", "--workers", "4"],
        dict(stack.services[1].env),  # crm_bridge's environment: the same database, queue and Rasa
        "",
        stack.var / "logs" / f"{name}.log",
    )
    service.start()
    return service


def _wait_ready(service: Service, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not service.ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{service.name} not ready again after {timeout_s:.0f} s:\n{service.tail()}")
        time.sleep(1.0)


def _stack(out: Path, name: str, telegram: FakeTelegram, env: dict[str, str] | None = None) -> Any:
    settings = {
        "KEFU_TELEGRAM_BOT_TOKEN": TOKEN,
        "KEFU_TELEGRAM_WEBHOOK_SECRET": SECRET,
        "KEFU_TELEGRAM_API_URL": telegram.url,
        **(env or {}),
    }
    stack = fresh_stack(out, name, ensure_model(), env=settings)
    print(f">> channels: starting Rasa, the action server and crm_bridge ({name})", flush=True)
    stack.start(timeout=300)
    return stack


def run(out: Path, seconds: int = 60) -> dict[str, Any]:
    """Every channels measurement: Telegram through the fake Bot API; first the default set-up (worker
    threads inside crm_bridge), then two `kefu jobs worker` processes, one of which is killed."""
    telegram = FakeTelegram(TOKEN).start()
    try:
        stack = _stack(out, "channels-stack", telegram)
        try:
            chat = _chat(stack)
            reply = _reply_latency(stack, telegram)
            ack = _ack(stack, stack.var, seconds)
        finally:
            stack.stop()
        # Enough backoff (about 8 minutes in all) to outlast a Rasa restart.
        stack = _stack(
            out, "channels-workers", telegram, {"KEFU_JOBS_APP_WORKERS": "0", "KEFU_TURN_ATTEMPTS": "9"}
        )
        workers = [_worker(stack, "jobs-worker-1"), _worker(stack, "jobs-worker-2")]
        try:
            robust = _robustness(stack, telegram, workers)
        finally:
            for worker in workers:
                worker.stop()
            stack.stop()
    finally:
        telegram.stop()
    return _report(chat, ack, reply, robust)


def _report(
    chat: dict[str, Any], ack: dict[str, Any], reply: dict[str, Any], robust: dict[str, Any]
) -> dict[str, Any]:
    stamp = now_iso()
    ack_met = {rate: row["latency_ms"]["p95"] <= 30 and row["errors"] == 0 for rate, row in ack.items()}
    chat_met = {c: row["ratio"] >= 0.9 for c, row in chat.items()}
    p95_32 = chat["32"]["kefu"]["latency_ms"]["p95"]
    robust_met = {k: v["lost"] == 0 and v["duplicated"] == 0 for k, v in robust.items()}
    result: dict[str, Any] = {
        "benchmark": "channels",
        "chat": chat,
        "webhook_ack": ack,
        "webhook_to_reply": reply,
        "robustness": robust,
        "met": {
            "ack_p95": ack_met,
            "chat_ratio": chat_met,
            "chat_p95_32": p95_32 <= 1000,
            "reply_p95": reply["latency_ms"]["p95"] <= 1500,
            "no_loss": robust_met,
        },
        "machine": machine(),
        "measured_at": stamp,
    }
    lines = ["| measure | value | target | met |", "| --- | --- | --- | --- |"]
    for rate, row in ack.items():
        lines.append(
            f"| webhook ack at {rate}/s ({row['per_second']}/s reached, {row['n']} requests) | p95 "
            f"{row['latency_ms']['p95']} ms, {row['errors']} errors | ≤ 30 ms, 0 errors | "
            f"{yes_no(ack_met[rate])} |"
        )
    lines.append(
        f"| webhook to reply, 50 conversations | p95 {reply['latency_ms']['p95']} ms "
        f"(p50 {reply['latency_ms']['p50']}, {reply['missing']} missing) | ≤ 1,500 ms | "
        f"{yes_no(result['met']['reply_p95'])} |"
    )
    for c, row in chat.items():
        lines.append(
            f"| chat, {c} customers: kefu / bare Rasa turns/s | {row['kefu']['turns_per_s']} / "
            f"{row['bare_rasa']['turns_per_s']} = {row['ratio']}× | ≥ 0.9× | {yes_no(chat_met[c])} |"
        )
    lines.append(f"| chat p95 at 32 customers | {p95_32} ms | ≤ 1,000 ms | {yes_no(p95_32 <= 1000)} |")
    for k, v in robust.items():
        lines.append(
            f"| {k.replace('_', ' ')}: {v['messages']} messages | {v['lost']} lost, {v['duplicated']} "
            f"duplicated | 0 and 0 | {yes_no(robust_met[k])} |"
        )
    lines += [
        "",
        f"{stamp}, {machine()['cpus']} cores, SQLite; Rasa 3.6.21 + action server + crm_bridge + two "
        "`kefu jobs worker` processes (4 threads each) on loopback; the Telegram Bot API is the local fake. "
        "Chat: each simulated customer sends 10 turns (English and Chinese FAQ questions and small talk), "
        "bare Rasa gets the same mix on its REST channel. Acknowledgement: wrk, each connection waiting "
        "100 ms between requests (`var/bench/channels.json`).",
    ]
    write_doc_section("channels", "Channels and the job queue", lines)
    return result
