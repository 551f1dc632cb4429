"""Concurrent simulated customers for `make bench channels`: each sends its turns one after another,
all customers at once, against crm_bridge's REST chat API or straight to Rasa's REST channel."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from kefu.bench_chat import QUESTIONS
from kefu.benchlib import latency_summary

Post = Callable[[httpx.AsyncClient, str, str], Awaitable[bool]]


@dataclass
class LoadResult:
    """Turns answered per second over the run, latency and failed turns."""

    customers: int
    turns: int
    errors: int
    seconds: float
    latency_ms: dict[str, float]

    @property
    def turns_per_s(self) -> float:
        """Answered turns per wall-clock second."""
        return round((self.turns - self.errors) / self.seconds, 2) if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-able."""
        return {**self.__dict__, "turns_per_s": self.turns_per_s}


def kefu_post(api_url: str, timeout_s: float = 60.0) -> Post:
    """One customer turn through POST /api/v1/chat (an answer with no reply or `pending` fails)."""

    async def post(client: httpx.AsyncClient, user: str, text: str) -> bool:
        response = await client.post(
            f"{api_url}/api/v1/chat", json={"user_id": user, "text": text}, timeout=timeout_s
        )
        if response.status_code != 200:
            return False
        body = response.json()
        return not body.get("pending") and bool(body.get("messages"))

    return post


def rasa_post(rasa_url: str, token: str, timeout_s: float = 60.0) -> Post:
    """One turn straight to Rasa's REST channel (custom actions included)."""
    headers = {"Authorization": f"Bearer {token}"}

    async def post(client: httpx.AsyncClient, user: str, text: str) -> bool:
        response = await client.post(
            f"{rasa_url}/webhooks/rest/webhook",
            json={"sender": user, "message": text},
            headers=headers,
            timeout=timeout_s,
        )
        return response.status_code == 200 and bool(response.json())

    return post


async def _run(post: Post, customers: int, turns: int, prefix: str) -> LoadResult:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=customers + 4, max_keepalive_connections=customers + 4)

    async with httpx.AsyncClient(limits=limits) as client:

        async def customer(index: int) -> None:
            nonlocal errors
            for turn in range(turns):
                text = QUESTIONS[(index + turn) % len(QUESTIONS)]
                started = time.perf_counter()
                try:
                    ok = await post(client, f"{prefix}-{index}", text)
                except httpx.HTTPError:
                    ok = False
                latencies.append((time.perf_counter() - started) * 1000)
                errors += 0 if ok else 1

        started = time.perf_counter()
        await asyncio.gather(*(customer(i) for i in range(customers)))
        seconds = time.perf_counter() - started
    return LoadResult(customers, customers * turns, errors, round(seconds, 2), latency_summary(latencies))


def run_customers(post: Post, customers: int, turns: int, prefix: str) -> LoadResult:
    """`customers` simulated customers with `turns` turns each, all at once."""
    return asyncio.run(_run(post, customers, turns, prefix))
