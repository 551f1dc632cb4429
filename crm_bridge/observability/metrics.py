"""kefu's Prometheus series (all named `kefu_…`) and the small helpers the code calls to feed them.

Several processes (uvicorn workers, `kefu jobs worker`) each count for themselves. When
PROMETHEUS_MULTIPROC_DIR is set (kefu/stack.py sets it under var/ and empties it at start), the client
keeps each process's values in files there and /metrics sums them (`render`); without it (tests, one
process) the values live in memory. Figures that are the state of the database rather than events
(queue depths, dead items) are read at scrape time by `collectors.StateCollector`.
"""

from __future__ import annotations

import atexit
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from prometheus_client.registry import REGISTRY, Collector

# Seconds: a lookup takes milliseconds, a turn through Rasa a few hundred, a stuck one its timeout.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0)

HTTP_LATENCY = Histogram(
    "kefu_http_request_duration_seconds",
    "HTTP request time, by route template (not the raw path), method and status class",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
TURN_STAGE = Histogram(
    "kefu_turn_stage_seconds",
    "time of one stage of a customer turn: store, sentiment, rasa (Rasa with its custom actions), "
    "commit (the replies stored and published to sockets), send (an IM platform's send call)",
    ["stage"],
    buckets=LATENCY_BUCKETS,
)
TURN_LATENCY = Histogram(
    "kefu_turn_seconds",
    "from a customer message stored to its turn finished (queue wait included), by outcome",
    ["outcome"],
    buckets=LATENCY_BUCKETS,
)
BOT_FAILURES = Counter("kefu_turn_bot_failures", "failed calls to Rasa while answering a turn")
JOB_RUNS = Histogram(
    "kefu_job_seconds", "job run time by task and outcome", ["task", "outcome"], buckets=LATENCY_BUCKETS
)
JOB_FAILURES = Counter("kefu_job_failures", "jobs that raised an error (each attempt)", ["task"])
JOB_RETRIES = Counter(
    "kefu_job_retries",
    "jobs put back on the queue: after an error, or asked for (a turn awaiting Rasa)",
    ["task"],
)
JOBS_DEAD = Counter(
    "kefu_jobs_dead", "jobs that failed their last retry (kept for `kefu jobs replay`)", ["task"]
)
WEBHOOK_EVENTS = Counter(
    "kefu_webhook_events",
    "counted webhook events by channel and kind (malformed, ignored, ...)",
    ["channel", "kind"],
)
WEBHOOK_VERIFICATION_FAILURES = Counter(
    "kefu_webhook_verification_failures", "webhook calls refused: signature or secret wrong", ["channel"]
)
WS_OPEN = Gauge(
    "kefu_websocket_connections",
    "open WebSocket connections by kind (widget, agent)",
    ["kind"],
    multiprocess_mode="livesum",
)
WS_ACCEPTED = Counter("kefu_websocket_accepted", "authenticated WebSocket connections opened", ["kind"])
KB_SEARCH = Histogram(
    "kefu_kb_search_seconds",
    "FAQ search time (retrieval and decision) by language",
    ["language"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
KB_DECISIONS = Counter("kefu_kb_decisions", "FAQ search decisions", ["decision", "language"])


def multiprocess_dir() -> str | None:
    """The shared value folder when several processes count together, else None."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


if multiprocess_dir():
    # A live-sum gauge (open sockets) must stop counting a process that exited; a SIGKILLed one keeps its
    # last value until the supervisor empties the folder at the next start.
    atexit.register(multiprocess.mark_process_dead, os.getpid())


@contextmanager
def observe_stage(stage: str) -> Iterator[None]:
    """Time the block (or, as a decorator, each call) as turn stage `stage`, whether or not it raises."""
    started = time.perf_counter()
    try:
        yield
    finally:
        TURN_STAGE.labels(stage).observe(time.perf_counter() - started)


def websocket_opened(kind: str) -> None:
    """An authenticated WebSocket of `kind` (widget, agent) is open; call `websocket_closed` when it ends."""
    WS_ACCEPTED.labels(kind).inc()
    WS_OPEN.labels(kind).inc()


def websocket_closed(kind: str) -> None:
    """The WebSocket counted by `websocket_opened` has ended."""
    WS_OPEN.labels(kind).dec()


def webhook_event(channel: str, kind: str) -> None:
    """Count a webhook event (`verification_failed` also feeds the verification-failure series)."""
    WEBHOOK_EVENTS.labels(channel, kind).inc()
    if kind == "verification_failed":
        WEBHOOK_VERIFICATION_FAILURES.labels(channel).inc()


def kb_search(language: str, decision: str, seconds: float) -> None:
    """Record one FAQ search."""
    KB_SEARCH.labels(language).observe(seconds)
    KB_DECISIONS.labels(decision, language).inc()


def render(*extra: Collector) -> bytes:
    """The text exposition of every series: this process's (or, in multiprocess mode, all processes')
    plus the `extra` collectors, which are asked now."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    state = CollectorRegistry(auto_describe=False)
    for collector in extra:
        state.register(collector)
    return body + generate_latest(state)
