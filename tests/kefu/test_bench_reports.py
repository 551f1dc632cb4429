"""The reports benchmark's helpers: message counts, the generated history's shape, the listener switch."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime

from kefu.bench_reports_data import Sizes, message_counts
from kefu.bench_reports_history import History
from kefu.bench_reports_writes import listeners_off, listeners_on


def test_message_counts_sum_exactly_with_at_least_two_each() -> None:
    counts = message_counts(random.Random(1), 1000, 10_000)
    assert sum(counts) == 10_000
    assert min(counts) >= 2
    assert len(set(counts)) > 10  # a spread, not 10 everywhere


def test_history_is_deterministic_and_consistent() -> None:
    now = datetime(2025, 6, 1, tzinfo=UTC)
    sizes = Sizes(conversations=300, messages=3000, contacts=50, chunk=100)

    def rows() -> Counter[str]:
        counted: Counter[str] = Counter()
        for batch in History(sizes, [7, 8], now).batches():
            counted.update(batch.count())
            ids = {c["id"] for c in batch.rows["conversations"]}
            assert {m["conversation_id"] for m in batch.rows["messages"]} <= ids
            tickets = {t["id"] for t in batch.rows["tickets"]}
            assert {e["ticket_id"] for e in batch.rows["escalations"] if e["ticket_id"]} <= tickets
            assert all(c["started_at"] < now for c in batch.rows["conversations"])
        return counted

    first = rows()
    assert first == rows()
    assert first["conversations"] == 300 and first["messages"] == 3000
    assert first["escalations"] and first["kb_decisions"] and first["survey_offers"]


def test_listeners_switch_off_and_back_on() -> None:
    assert listeners_on()
    with listeners_off():
        assert not listeners_on()
    assert listeners_on()
