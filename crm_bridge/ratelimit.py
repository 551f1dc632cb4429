"""A per-worker sliding-window rate limit, for cheap abuse: minting anonymous widget sessions, a customer
flooding the chat."""

from __future__ import annotations

import threading
import time
from collections import deque

from kefu_core.errors import TooManyRequests

PRUNE_ABOVE = 10_000  # keys kept before old ones are swept (bounded memory under a flood of addresses)


class SlidingWindow:
    """At most `limit` hits per `window_s` seconds per key (e.g. a client address)."""

    def __init__(self, limit: int, window_s: float = 60.0) -> None:
        self.limit = limit
        self.window_s = window_s
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str, what: str = "requests", source: str = "this address") -> None:
        """Count a hit for `key`; TooManyRequests (429, with retry_after_s) when over the limit."""
        now = time.monotonic()
        with self._lock:
            if len(self._hits) > PRUNE_ABOVE:
                self._prune(now)
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] >= self.window_s:
                hits.popleft()
            if len(hits) >= self.limit:
                retry = max(1, int(self.window_s - (now - hits[0])) + 1)
                raise TooManyRequests(
                    f"too many {what} from {source}; try again in {retry} s",
                    details={"retry_after_s": retry},
                )
            hits.append(now)

    def _prune(self, now: float) -> None:
        for key in [k for k, hits in self._hits.items() if not hits or now - hits[-1] >= self.window_s]:
            del self._hits[key]


class FrameBudget:
    """One WebSocket's frames: at most `limit` per `window_s` seconds (a flooding client is refused)."""

    def __init__(self, limit: int, window_s: float = 60.0) -> None:
        self.limit = limit
        self.window_s = window_s
        self._times: deque[float] = deque()

    def allow(self) -> bool:
        """Count one frame; False when it is over the budget (it is not counted then)."""
        now = time.monotonic()
        while self._times and now - self._times[0] >= self.window_s:
            self._times.popleft()
        if len(self._times) >= self.limit:
            return False
        self._times.append(now)
        return True
