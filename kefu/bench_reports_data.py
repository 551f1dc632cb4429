"""A synthetic year of service history for `make bench --only reports`, written in bulk (COPY on PostgreSQL,
Core executemany on SQLite; never the ORM row by row): conversations across channels, languages and local
hours, customer/bot/agent messages with sentiment, handoffs with reasons, knowledge-base decisions,
resolutions and reopens, tickets with SLA due times, survey offers, ratings and their follow-ups, and a
month of availability probes. Deterministic for a seed; generated once and written to every sink."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, Engine, Table, insert

import crm_bridge.models_registry  # noqa: F401  (every table on Base.metadata)
from kefu_core.db import Base

ZONE = ZoneInfo("Asia/Shanghai")
CHANNELS = (("widget", 50), ("telegram", 20), ("wecom", 15), ("whatsapp", 10), ("api", 5))
LANGUAGES = (("en", 55), ("zh", 45))
# Conversations by local hour of day: quiet nights, a morning peak and a long evening.
HOURS = tuple(enumerate((1, 1, 0.5, 0.5, 0.5, 1, 2, 4, 7, 10, 11, 10, 9, 10, 10, 10, 9, 8, 8, 9, 9, 7, 4, 2)))
REASONS = (
    ("customer_request", 35), ("fallback", 25), ("complaint", 15),
    ("negative_sentiment", 12), ("keyword", 8), ("ticket_status", 5),
)  # fmt: skip
OUTCOMES = (("queued", 62), ("assigned", 23), ("offline", 8), ("declined", 7))
DECISIONS = (("answer", 68), ("clarify", 12), ("none", 20))
RATINGS = ((5, 50), (4, 28), (3, 10), (2, 6), (1, 6))
PRIORITIES = (("low", 15), ("normal", 55), ("high", 22), ("urgent", 8))
TAGS = ("b2b", "beta", "wholesale", "returning", "press", "partner", "student")
TEXT = {
    "customer": ("How long does delivery take?", "Where is my order?", "I want a refund", "我的订单在哪里？",
                 "能开发票吗？", "The app keeps crashing", "Can I change my address?", "谢谢"),
    "bot": ("Delivery takes 3-5 working days.", "Let me look that up for you.", "您可以在订单页面查看物流。",
            "Refunds are processed within 7 days.", "我帮您转人工客服。"),
    "agent": ("Hi, I'm looking at your order now.", "I've issued the refund.", "您好，我来帮您处理。",
              "Could you send me the order number?", "Done, anything else?"),
}  # fmt: skip


def pick(rng: random.Random, weighted: Sequence[tuple[Any, float]]) -> Any:
    """One value of (value, weight) pairs."""
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def message_counts(rng: random.Random, conversations: int, messages: int) -> list[int]:
    """Messages per conversation (at least 2, a long tail) summing to exactly `messages`."""
    mean = messages / conversations
    counts = [min(80, 2 + int(rng.expovariate(1 / max(mean - 2, 0.1)))) for _ in range(conversations)]
    diff = messages - sum(counts)
    while diff:
        i = rng.randrange(conversations)
        if diff > 0 and counts[i] < 80:
            counts[i], diff = counts[i] + 1, diff - 1
        elif diff < 0 and counts[i] > 2:
            counts[i], diff = counts[i] - 1, diff + 1
    return counts


class Sink(Protocol):
    """Somewhere rows go, table by table."""

    seconds: float

    def put(self, table: str, rows: list[dict[str, Any]]) -> None: ...
    def commit(self) -> None: ...
    def close(self) -> None: ...


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


class PostgresSink:
    """COPY FROM STDIN through psycopg (JSON columns as text)."""

    def __init__(self, engine: Engine) -> None:
        self.raw = engine.raw_connection()
        self.seconds = 0.0

    def put(self, table: str, rows: list[dict[str, Any]]) -> None:
        """Copy `rows` (all with the same keys) into `table`."""
        if not rows:
            return
        began = time.perf_counter()
        cols = list(rows[0])
        jsons = {c for c in cols if isinstance(_table(table).c[c].type, JSON)}
        conn = self.raw.driver_connection
        assert conn is not None
        with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([json.dumps(row[c]) if c in jsons else row[c] for c in cols])
        self.seconds += time.perf_counter() - began

    def commit(self) -> None:
        """Commit what was copied."""
        began = time.perf_counter()
        self.raw.commit()
        self.seconds += time.perf_counter() - began

    def close(self) -> None:
        """Give the connection back."""
        self.raw.close()


class CoreSink:
    """SQLAlchemy Core executemany (SQLite, or any backend)."""

    def __init__(self, engine: Engine) -> None:
        self.conn = engine.connect()
        self.seconds = 0.0

    def put(self, table: str, rows: list[dict[str, Any]]) -> None:
        """Insert `rows` into `table` in one executemany."""
        if rows:
            began = time.perf_counter()
            self.conn.execute(insert(_table(table)), rows)
            self.seconds += time.perf_counter() - began

    def commit(self) -> None:
        """Commit the open transaction."""
        began = time.perf_counter()
        self.conn.commit()
        self.seconds += time.perf_counter() - began

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


@dataclass
class Sizes:
    """How much history to make."""

    conversations: int = 100_000
    messages: int = 1_000_000
    contacts: int = 25_000
    days: int = 365
    probe_days: int = 30
    chunk: int = 2_000


ORDER = (
    "conversations", "messages", "tickets", "escalations", "kb_decisions", "survey_offers",
    "feedback", "feedback_follow_ups", "conversation_facts",
)  # fmt: skip


@dataclass
class Batch:
    """Rows of one chunk of conversations, by table."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {t: [] for t in ORDER})

    def add(self, table: str, **row: Any) -> None:
        """One row."""
        self.rows[table].append(row)

    def count(self) -> dict[str, int]:
        """Rows per table."""
        return {t: len(r) for t, r in self.rows.items()}
