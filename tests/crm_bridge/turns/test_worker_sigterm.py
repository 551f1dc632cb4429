"""`kefu jobs worker` stopped the way compose and Kubernetes stop it (SIGTERM) finishes the turn it is
answering and stores the reply before it exits; SIGINT remains the way to stop at once."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.conversations.models import Message, MessageRole
from crm_bridge.jobs import queue
from crm_bridge.turns import service as turns
from crm_bridge.turns.models import Turn, TurnStatus
from crm_bridge.turns.tasks import enqueue
from sentiment.runtime import warm_sentiment
from tests.fakes.rasa_server import FakeRasa
from tests.helpers import kefu_env

pytestmark = pytest.mark.slow
KEFU = Path(__file__).resolve().parents[3] / ".venv" / "bin" / "kefu"
REDIS_URL = "redis://127.0.0.1:6379/0"


def test_sigterm_lets_the_running_turn_finish(
    session: Session, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warm_sentiment()
    monkeypatch.setattr(queue.huey, "dequeue", lambda *args, **kwargs: None)  # this process's workers
    fake = FakeRasa(delay_s=3.0).start()
    prefix = f"kefu-test-{uuid.uuid4().hex[:8]}:"
    settings = {
        "DATABASE_URL": db_url,
        "RASA_URL": fake.url,
        "KEFU_RASA_TIMEOUT": "10",
        "KEFU_ACTION_TIMEOUT": "5",
        "KEFU_SHUTDOWN_TIMEOUT": "15",
        "KEFU_JOBS_BACKEND": "redis",
        "KEFU_JOBS_REDIS_URL": REDIS_URL,
        "KEFU_REDIS_PREFIX": prefix,
    }
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [str(KEFU), "jobs", "worker", "--workers", "1"],
            env={**os.environ, **settings},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 120
            while "Huey consumer started" not in log_path.read_text():
                assert time.monotonic() < deadline and proc.poll() is None, log_path.read_text()[-2000:]
                time.sleep(0.2)
            user = f"term-{uuid.uuid4().hex[:8]}"
            with kefu_env(**settings):
                queue.configure()
                got = turns.receive(
                    session,
                    turns.Inbound(channel="test", user_id=user, platform_id=f"{user}:1", text="slow one"),
                )
                assert enqueue(got.conversation_id)
            deadline = time.monotonic() + 60
            while fake.messages(got.conversation_id) != ["slow one"]:  # the bot is answering now
                assert time.monotonic() < deadline, "the worker never asked the bot"
                time.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
            exit_code = proc.wait(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            fake.stop()
            client = redis.Redis.from_url(REDIS_URL)
            for key in client.scan_iter(f"*{prefix}*"):
                client.delete(key)
            queue.configure()
    assert exit_code == 0, log_path.read_text()[-2000:]
    session.expire_all()
    assert session.scalar(select(Turn.status).where(Turn.id == got.turn_id)) is TurnStatus.done
    replies = session.scalars(
        select(Message.text).where(
            Message.conversation_id == got.conversation_id, Message.role == MessageRole.bot
        )
    ).all()
    assert replies == ["echo: slow one"]
