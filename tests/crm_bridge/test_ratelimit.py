"""The sliding-window limit: refuses over the limit, per key, and forgives once the window has passed."""

from __future__ import annotations

import time

import pytest

from crm_bridge.ratelimit import FrameBudget, SlidingWindow
from kefu_core.errors import TooManyRequests


def test_limit_per_key_and_window() -> None:
    limiter = SlidingWindow(2, window_s=0.3)
    limiter.check("a")
    limiter.check("a")
    with pytest.raises(TooManyRequests) as refused:
        limiter.check("a")
    assert refused.value.status_code == 429 and refused.value.details["retry_after_s"] >= 1
    limiter.check("b")  # another address has its own budget
    time.sleep(0.35)
    limiter.check("a")  # the window moved on


def test_many_addresses_do_not_grow_memory_forever() -> None:
    limiter = SlidingWindow(1, window_s=0.01)
    for i in range(10_001):
        limiter.check(f"10.0.{i // 256}.{i % 256}")
    time.sleep(0.02)
    limiter.check("one more")  # sweeps the expired keys
    assert len(limiter._hits) == 1


def test_a_frame_budget_refuses_a_flood_and_recovers() -> None:
    budget = FrameBudget(3, window_s=0.2)
    assert [budget.allow() for _ in range(5)] == [True, True, True, False, False]
    time.sleep(0.25)
    assert budget.allow()
