"""Widget tests share the escalation tests' clean floor and service client."""

from __future__ import annotations

from typing import Any

from starlette.testclient import WebSocketTestSession

from tests.crm_bridge.escalation.conftest import empty_floor, service

__all__ = ["empty_floor", "frames_until", "service"]


def frames_until(ws: WebSocketTestSession, done: Any, limit: int = 50) -> list[dict[str, Any]]:
    """Read frames until `done(frame)` is true; all frames read, the matching one last."""
    seen: list[dict[str, Any]] = []
    for _ in range(limit):
        frame = ws.receive_json()
        seen.append(frame)
        if done(frame):
            return seen
    raise AssertionError(f"no matching frame in {seen}")
