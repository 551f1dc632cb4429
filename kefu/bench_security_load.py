"""The load of `make bench --only security`: sign-ins on POST /api/v1/auth/token and customer turns on
POST /api/v1/chat from concurrent clients (asyncio + httpx), with throughput and latency."""

from __future__ import annotations

import asyncio
import time
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx

from kefu.bench_chat import QUESTIONS
from kefu.benchlib import latency_summary


def _client(connections: int) -> httpx.AsyncClient:
    # No cookie is kept: every sign-in is a fresh one, and no request rides on a previous session cookie.
    jar = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    limits = httpx.Limits(max_connections=connections + 2, max_keepalive_connections=connections + 2)
    return httpx.AsyncClient(limits=limits, cookies=jar, timeout=60)


def summary(latencies_ms: list[float], ok: int, seconds: float) -> dict[str, Any]:
    """Successful requests per second over the wall time, and latency percentiles."""
    return {
        "n": len(latencies_ms),
        "ok": ok,
        "errors": len(latencies_ms) - ok,
        "per_second": round(ok / seconds, 2) if seconds > 0 else 0.0,
        "latency_ms": latency_summary(latencies_ms),
    }


async def _logins(
    url: str, accounts: list[str], password: str, clients: int, per_client: int, wrong_tag: str | None
) -> dict[str, Any]:
    latencies: list[float] = []
    ok = 0
    async with _client(clients) as client:

        async def one_client(index: int) -> None:
            nonlocal ok
            for j in range(per_client):
                headers: dict[str, str] = {}
                if wrong_tag is None:
                    form = {
                        "username": accounts[(index * per_client + j) % len(accounts)],
                        "password": password,
                    }
                    expected = 200
                else:
                    # A new name and a new address (X-Forwarded-For, believed from 127.0.0.1 by both
                    # versions' uvicorn) for every attempt: neither lock is reached, every attempt hashes.
                    form = {"username": f"nobody-{wrong_tag}-{index}-{j}", "password": password + "-wrong"}
                    headers["X-Forwarded-For"] = f"10.{index}.{j // 250}.{j % 250 + 1}"
                    expected = 401
                started = time.perf_counter()
                try:
                    response = await client.post(f"{url}/api/v1/auth/token", data=form, headers=headers)
                    good = response.status_code == expected
                    if good and expected == 200:
                        good = bool(response.json().get("access_token"))
                except httpx.HTTPError:
                    good = False
                latencies.append((time.perf_counter() - started) * 1000)
                ok += good

        started = time.perf_counter()
        await asyncio.gather(*(one_client(i) for i in range(clients)))
        seconds = time.perf_counter() - started
    return summary(latencies, ok, seconds)


def logins(
    url: str,
    accounts: list[str],
    password: str,
    *,
    clients: int,
    per_client: int,
    wrong_tag: str | None = None,
) -> dict[str, Any]:
    """`clients` at once, each signing in `per_client` times in a row (accounts taken in turn); with
    `wrong_tag`, wrong passwords for names no account has (401 expected)."""
    return asyncio.run(_logins(url, accounts, password, clients, per_client, wrong_tag))


async def _chat(url: str, concurrency: int, customers: int, turns: int, prefix: str) -> dict[str, Any]:
    new: list[float] = []
    follow: list[float] = []
    ok = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(customers):
        queue.put_nowait(index)
    async with _client(concurrency) as client:

        async def lane() -> None:
            nonlocal ok
            while not queue.empty():
                index = queue.get_nowait()
                for turn in range(turns):
                    body = {
                        "user_id": f"{prefix}-{index}",
                        "text": QUESTIONS[(index + turn) % len(QUESTIONS)],
                    }
                    started = time.perf_counter()
                    try:
                        response = await client.post(f"{url}/api/v1/chat", json=body)
                        answer = response.json() if response.status_code == 200 else {}
                        good = bool(answer.get("messages")) and not answer.get("pending")
                    except httpx.HTTPError:
                        good = False
                    (new if turn == 0 else follow).append((time.perf_counter() - started) * 1000)
                    ok += good

        started = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    everything = summary(new + follow, ok, seconds)
    return {
        **everything,
        "new_conversation_ms": latency_summary(new),
        "follow_up_ms": latency_summary(follow),
    }


def chat(url: str, *, concurrency: int, customers: int, turns: int, prefix: str) -> dict[str, Any]:
    """`customers` customers, `concurrency` at a time, each `turns` turns in a row (the first opens a new
    conversation, the rest follow up); latency of new and follow-up turns apart, turns per second."""
    return asyncio.run(_chat(url, concurrency, customers, turns, prefix))
