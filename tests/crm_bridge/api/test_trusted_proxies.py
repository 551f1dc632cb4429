"""The real uvicorn worker (as `kefu run` starts it): X-Forwarded-For counts only from KEFU_TRUSTED_PROXIES,
so per-address limits see the real client behind a proxy and cannot be dodged by anyone else; WebSocket
messages are capped (issue 22, item 6)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from kefu.bootstrap import prepare_database
from kefu.stack import WS_MAX_BYTES, start_worker
from tests.helpers import run_async

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
PER_MINUTE = 2


def _worker(tmp_path: Path, trusted: str) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'kefu.db'}"
    prepare_database(url, demo_users=False)
    env = {
        "DATABASE_URL": url,
        "KEFU_SERVICE_TOKEN": secrets.token_urlsafe(24),
        "KEFU_SECRET_KEY": secrets.token_urlsafe(32),
        "KEFU_WIDGET_SESSIONS_PER_MINUTE": str(PER_MINUTE),
        "KEFU_TRUSTED_PROXIES": trusted,
    }
    worker, base = start_worker(tmp_path, f"proxy-{secrets.token_hex(3)}", env)
    try:
        yield base
    finally:
        worker.stop()


@pytest.fixture
def behind_proxy(tmp_path: Path) -> Iterator[str]:
    """A worker that believes X-Forwarded-For from loopback (a proxy on the same host)."""
    yield from _worker(tmp_path, "127.0.0.1")


@pytest.fixture
def trusting_nobody(tmp_path: Path) -> Iterator[str]:
    """A worker that believes no X-Forwarded-For."""
    yield from _worker(tmp_path, "")


def _new_sessions(base: str, forwarded_for: list[str]) -> list[int]:
    with httpx.Client(base_url=base, timeout=30) as client:
        return [
            client.post("/api/v1/widget/session", json={}, headers={"X-Forwarded-For": ip}).status_code
            for ip in forwarded_for
        ]


def test_behind_a_trusted_proxy_each_client_has_its_own_limit(behind_proxy: str) -> None:
    one, two = "203.0.113.7", "198.51.100.9"
    assert _new_sessions(behind_proxy, [one] * (PER_MINUTE + 1)) == [200] * PER_MINUTE + [429]
    assert _new_sessions(behind_proxy, [two]) == [200]  # another customer behind the same proxy


def test_without_trusted_proxies_a_forged_header_does_not_escape_the_limit(trusting_nobody: str) -> None:
    forged = [f"192.0.2.{n}" for n in range(PER_MINUTE + 1)]
    assert _new_sessions(trusting_nobody, forged) == [200] * PER_MINUTE + [429]


def test_a_websocket_message_over_the_cap_closes_the_socket(behind_proxy: str) -> None:
    with httpx.Client(base_url=behind_proxy, timeout=30) as client:
        token = client.post("/api/v1/widget/session", json={}).json()["token"]

    async def talk() -> int | None:
        url = behind_proxy.replace("http://", "ws://") + f"/api/v1/widget/ws?token={token}"
        async with websockets.connect(url, max_size=None) as ws:
            await ws.recv()  # the hello
            await ws.send('{"type": "message", "text": "' + "x" * (WS_MAX_BYTES + 10) + '"}')
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), timeout=10)
            except websockets.ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else None

    assert run_async(talk()) == 1009  # "message too big"
