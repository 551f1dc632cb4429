"""Two real `kefu jobs worker` processes on the Redis queue answer every turn once, in order per
conversation, with no two turns of one conversation at the bot at the same time, on each database."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
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


def _started_here(worker: str) -> bool:
    """Whether a worker id (host:pid:thread) names a child process of this test run."""
    pid = int(worker.split(":")[1])
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return pid != os.getpid() and int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid()
    except (OSError, ValueError, IndexError):
        return False


@pytest.fixture
def redis_workers(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[FakeRasa, dict[str, str]]]:
    """A slowish fake bot and two worker processes (two threads each) on a Redis queue of this test's own."""
    warm_sentiment()  # trained once into this run's var/ (the workers load it from there)
    # In a full run this process holds the session app's in-app workers, on the same (global) queue object
    # that is about to point at this test's Redis queue: they must not take its jobs.
    monkeypatch.setattr(queue.huey, "dequeue", lambda *args, **kwargs: None)
    fake = FakeRasa(delay_s=0.03).start()
    settings = {
        "DATABASE_URL": db_url,
        "RASA_URL": fake.url,
        "KEFU_RASA_TIMEOUT": "5",
        "KEFU_ACTION_TIMEOUT": "2",
        "KEFU_JOBS_BACKEND": "redis",
        "KEFU_JOBS_REDIS_URL": REDIS_URL,
        "KEFU_REDIS_PREFIX": f"kefu-test-{uuid.uuid4().hex[:8]}:",
    }
    logs = [(tmp_path / f"worker-{i}.log").open("w") for i in range(2)]
    procs = [
        subprocess.Popen(
            [str(KEFU), "jobs", "worker", "--workers", "2"],
            env={**os.environ, **settings},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for log in logs
    ]
    try:
        deadline = time.monotonic() + 120
        while not all(
            "Huey consumer started" in (tmp_path / f"worker-{i}.log").read_text() for i in range(2)
        ):
            assert time.monotonic() < deadline, "workers did not start"
            assert all(proc.poll() is None for proc in procs), "a worker exited"
            time.sleep(0.2)
        yield fake, settings
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in logs:
            log.close()
        fake.stop()
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"*{settings['KEFU_REDIS_PREFIX']}*"):
            client.delete(key)
        queue.configure()  # back to this process's own queue


def _wait_done(session: Session, turn_ids: list[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        session.expire_all()
        statuses = session.scalars(select(Turn.status).where(Turn.id.in_(turn_ids))).all()
        if all(status is not TurnStatus.pending for status in statuses):
            return
        time.sleep(0.2)
    raise AssertionError("turns still pending after the timeout")


def test_two_worker_processes_answer_every_turn_once_in_order(
    session: Session, redis_workers: tuple[FakeRasa, dict[str, str]]
) -> None:
    fake, settings = redis_workers
    users = [f"redis-{uuid.uuid4().hex[:8]}" for _ in range(4)]
    texts = [f"question {i}" for i in range(8)]
    turn_ids: list[int] = []
    conversation_of: dict[str, str] = {}
    with kefu_env(**settings):
        queue.configure()
        for text in texts:  # interleaved across conversations, every delivery arriving twice
            for user in users:
                platform_id = f"{user}:{text}"
                for _ in range(2):
                    got = turns.receive(
                        session,
                        turns.Inbound(channel="test", user_id=user, platform_id=platform_id, text=text),
                    )
                    assert enqueue(got.conversation_id)
                turn_ids.append(got.turn_id)
                conversation_of[user] = got.conversation_id
        _wait_done(session, turn_ids, timeout=120)

    assert len(set(turn_ids)) == len(users) * len(texts)
    assert fake.overlaps == []  # never two turns of one conversation at the bot at once
    for user in users:
        cid = conversation_of[user]
        assert fake.messages(cid) == texts  # each once, in arrival order
        replies = session.scalars(
            select(Message.text)
            .where(Message.conversation_id == cid, Message.role == MessageRole.bot)
            .order_by(Message.id)
        ).all()
        assert replies == [f"echo: {text}" for text in texts]
    workers = session.scalars(select(Turn.worker).where(Turn.id.in_(turn_ids))).all()
    # Both worker processes took turns. (In a full run this process's own in-app workers, started by the
    # session's app, read the same queue and may take some too: they are not counted.)
    processes = {worker.split(":")[1] for worker in workers if worker and _started_here(worker)}
    assert len(processes) == 2, workers


def test_a_worker_killed_mid_run_loses_no_turn_and_doubles_no_reply(
    session: Session, redis_workers: tuple[FakeRasa, dict[str, str]], tmp_path: Path
) -> None:
    """SIGKILL one worker while it answers: its popped job is lost and its lease held, so the other
    worker takes over when the lease runs out and the minute's sweep re-queues the stalled turns."""
    fake, settings = redis_workers
    fake.delay_s = 0.3
    users = [f"kill-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    texts = [f"message {i}" for i in range(5)]
    turn_ids: list[int] = []
    conversation_of: dict[str, str] = {}
    with kefu_env(**settings):
        queue.configure()
        for text in texts:
            for user in users:
                got = turns.receive(
                    session,
                    turns.Inbound(channel="test", user_id=user, platform_id=f"{user}:{text}", text=text),
                )
                assert enqueue(got.conversation_id)
                turn_ids.append(got.turn_id)
                conversation_of[user] = got.conversation_id
        deadline = time.monotonic() + 30
        done_by: str | None = None
        while done_by is None:  # kill a worker that has answered a turn, mid-run
            assert time.monotonic() < deadline
            time.sleep(0.05)
            session.expire_all()
            workers = session.scalars(
                select(Turn.worker).where(Turn.id.in_(turn_ids), Turn.worker.is_not(None))
            ).all()
            # Only one of the two worker processes this test started: this process's own in-app workers
            # take jobs from the same queue, and killing them would kill the test run.
            done_by = next((w for w in workers if w is not None and _started_here(w)), None)
        os.kill(int(done_by.split(":")[1]), signal.SIGKILL)
        _wait_done(session, turn_ids, timeout=150)  # lease (2 x 5 s + 30 s) plus at most a minute's sweep
    for user in users:
        replies = session.scalars(
            select(Message.text)
            .where(Message.conversation_id == conversation_of[user], Message.role == MessageRole.bot)
            .order_by(Message.id)
        ).all()
        assert replies == [f"echo: {text}" for text in texts]  # each once, in order
