"""Graceful shutdown on a real uvicorn crm_bridge: SIGTERM while a turn is in flight (a fake Rasa that
answers slowly) drains — /readyz 503, sockets closed with 1012, the turn finishes and its reply is
stored — and the process exits within KEFU_SHUTDOWN_TIMEOUT."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from crm_bridge.conversations.models import Message, MessageRole
from crm_bridge.health import router
from crm_bridge.shutdown import Drain
from kefu.bootstrap import prepare_database
from kefu.stack import Service, free_port, start_worker
from kefu_core.db import make_engine
from tests.fakes.rasa_server import FakeRasa
from tests.helpers import kefu_env, run_async

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]


@pytest.fixture(autouse=True)
def empty_floor() -> None:
    """These tests bring their own database (no shared test database needed)."""


def _start(tmp_path: Path, rasa: FakeRasa, shutdown_timeout: float) -> tuple[Service, str, str]:
    url = f"sqlite:///{tmp_path / 'kefu.db'}"
    prepare_database(url, demo_users=False)
    env = {
        "DATABASE_URL": url,
        "RASA_URL": rasa.url,
        "KEFU_SHUTDOWN_TIMEOUT": str(shutdown_timeout),
        "KEFU_RASA_TIMEOUT": "60",
        "KEFU_ACTION_TIMEOUT": "30",
        "KEFU_SERVICE_TOKEN": secrets.token_urlsafe(24),
        "KEFU_SECRET_KEY": secrets.token_urlsafe(32),
        "KEFU_JOBS_SQLITE_PATH": str(tmp_path / "jobs.db"),
    }
    service, base = start_worker(tmp_path, "api", env)
    return service, base, url


async def _until(ws: Any, kind: str) -> dict[str, Any]:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 20))
        if frame["type"] == kind:
            return frame


async def _close_code(ws: Any, timeout: float = 10) -> int | None:
    """Read until the server closes the socket; -> the close code it sent."""
    with pytest.raises(websockets.ConnectionClosed):
        while True:
            await asyncio.wait_for(ws.recv(), timeout)
    return ws.close_code


def _wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _bot_replies(url: str, conversation_id: str) -> list[str]:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return list(
                session.scalars(
                    select(Message.text).where(
                        Message.conversation_id == conversation_id, Message.role == MessageRole.bot
                    )
                )
            )
    finally:
        engine.dispose()


def test_sigterm_mid_turn_drains_then_exits(tmp_path: Path) -> None:
    rasa = FakeRasa(delay_s=4.0).start()
    service, base, url = _start(tmp_path, rasa, shutdown_timeout=15)
    assert service.proc is not None
    try:
        ready = httpx.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 200 and ready.json() == {"status": "ready", "failing": []}
        assert httpx.get(f"{base}/livez", timeout=5).status_code == 200
        result = run_async(_story(base, service, rasa))
    finally:
        service.stop()
        rasa.stop()
    log = service.log_path.read_text(errors="replace")
    assert result["exit_s"] < 15, log[-3000:]  # within KEFU_SHUTDOWN_TIMEOUT
    # It waited for the turn (Rasa still had most of its 4 s to go when SIGTERM came).
    assert result["exit_s"] > 2.0, log[-3000:]
    assert result["ready_during_drain"] == (503, "draining")
    assert result["livez_during_drain"] == 200  # the process is alive: only readiness is withdrawn
    assert result["close_code"] == 1012 and result["new_socket_code"] == 1012
    assert service.proc.returncode in (0, -signal.SIGTERM), log[-3000:]
    # The in-flight turn completed: its reply is stored.
    assert _bot_replies(url, result["conversation_id"]) == ["echo: where is my order?"]
    assert "draining: readiness off, 1 socket(s) told to reconnect" in log


async def _story(base: str, service: Service, rasa: FakeRasa) -> dict[str, Any]:
    assert service.proc is not None
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        token = (await http.post("/api/v1/widget/session", json={"token": None})).json()["token"]
        ws_url = base.replace("http", "ws", 1) + f"/api/v1/widget/ws?token={token}"
        async with websockets.connect(ws_url) as customer:
            await _until(customer, "hello")
            await customer.send(
                json.dumps({"type": "message", "client_id": "c1", "text": "where is my order?"})
            )
            ack = await _until(customer, "ack")
            # The turn is in flight: Rasa has the message and takes 4 s to answer.
            await asyncio.to_thread(_wait_for, lambda: rasa.calls, 20, "the turn to reach Rasa")
            sent_at = time.monotonic()
            os.kill(service.proc.pid, signal.SIGTERM)
            close_code = await _close_code(customer)
            ready = await http.get("/readyz")
            livez = await http.get("/livez")
            # A socket opened while draining is told to reconnect at once (to another replica).
            async with websockets.connect(ws_url) as late:
                new_socket_code = await _close_code(late)
        exit_code = await asyncio.to_thread(service.proc.wait, 30)
        return {
            "conversation_id": ack["conversation_id"],
            "close_code": close_code,
            "ready_during_drain": (ready.status_code, ready.json()["status"]),
            "livez_during_drain": livez.status_code,
            "new_socket_code": new_socket_code,
            "exit_code": exit_code,
            "exit_s": time.monotonic() - sent_at,
        }


def test_drain_is_bounded_by_the_shutdown_timeout(tmp_path: Path) -> None:
    # A turn that would take longer than the deadline does not hold the process: it exits on time
    # (the turn's job stays leased and is taken up again by the turn sweep on a live worker).
    rasa = FakeRasa(delay_s=40.0).start()
    service, base, _ = _start(tmp_path, rasa, shutdown_timeout=3)
    try:
        took = run_async(_stop_mid_turn(base, service, rasa))
    finally:
        service.stop()
        rasa.stop()
    assert took < 3 + 2.5, service.tail()  # the deadline plus the lifespan's own shutdown


async def _stop_mid_turn(base: str, service: Service, rasa: FakeRasa) -> float:
    assert service.proc is not None
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        token = (await http.post("/api/v1/widget/session", json={"token": None})).json()["token"]
    ws_url = base.replace("http", "ws", 1) + f"/api/v1/widget/ws?token={token}"
    async with websockets.connect(ws_url) as customer:
        await _until(customer, "hello")
        await customer.send(json.dumps({"type": "message", "client_id": "c1", "text": "hello"}))
        await _until(customer, "ack")
        await asyncio.to_thread(_wait_for, lambda: rasa.calls, 20, "the turn to reach Rasa")
        started = time.monotonic()
        os.kill(service.proc.pid, signal.SIGTERM)
        await asyncio.to_thread(service.proc.wait, 30)
        return time.monotonic() - started


def test_readyz_names_what_keeps_it_unready(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kefu.db'}"
    prepare_database(url, seed=False, demo_users=False)
    app = FastAPI()
    app.include_router(router)
    app.state.drain = Drain(20)

    def ready() -> tuple[int, dict[str, Any]]:
        response = TestClient(app).get("/readyz")
        return response.status_code, response.json()

    with kefu_env(DATABASE_URL=url):
        assert ready() == (503, {"status": "starting", "failing": []})
        app.state.drain.state = "ready"
        assert ready() == (200, {"status": "ready", "failing": []})
        engine = create_engine(url)
        with engine.begin() as conn:  # the code is newer than the database: no traffic yet
            conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        engine.dispose()
        assert ready() == (503, {"status": "unavailable", "failing": ["migrations"]})
    gone = f"postgresql+psycopg://kefu@127.0.0.1:{free_port()}/kefu?connect_timeout=2"
    with kefu_env(DATABASE_URL=gone):
        assert ready() == (503, {"status": "unavailable", "failing": ["database"]})
        app.state.drain.state = "draining"
        assert ready() == (503, {"status": "draining", "failing": []})
