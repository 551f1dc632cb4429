"""`kefu jobs list --status dead` and `kefu jobs replay ID|--all-dead` on a job that really died: a
task fails on the queue's worker threads until its retries run out, then is replayed and succeeds."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge import worker
from crm_bridge.jobs import queue
from crm_bridge.jobs.models import DeadJob, DeadJobStatus
from kefu.cli import main
from kefu_core.settings import get_settings
from tests.helpers import kefu_env

BROKEN = {"on": True}
DONE: list[int] = []


@queue.task("tests.flaky", retries=1, retry_delay=0.1)
def flaky(number: int) -> None:
    """Fails while BROKEN is on."""
    if BROKEN["on"]:
        raise RuntimeError("the flaky task failed")
    DONE.append(number)


def _wait(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _dead(session: Session, number: int) -> DeadJob | None:
    session.expire_all()
    jobs = session.scalars(select(DeadJob).where(DeadJob.task == "tests.flaky")).all()
    return next((job for job in jobs if job.args == [number]), None)


def test_a_dead_job_is_listed_and_replayed(
    db_url: str, session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    number = uuid.uuid4().int % 10**6
    with kefu_env(
        DATABASE_URL=db_url, KEFU_JOBS_SQLITE_PATH=str(tmp_path / "jobs.db"), KEFU_JOBS_APP_WORKERS="1"
    ):
        consumer = worker.start_in_app(get_settings())
        assert consumer is not None
        try:
            BROKEN["on"] = True
            flaky(number)
            _wait(lambda: _dead(session, number) is not None)  # two tries (retries=1), then dead
            dead = _dead(session, number)
            assert dead is not None and dead.status is DeadJobStatus.dead
            assert dead.error == "RuntimeError: the flaky task failed"

            assert main(["jobs", "list", "--status", "dead"]) == 0
            listed = capsys.readouterr().out
            assert "tests.flaky" in listed and str(number) in listed

            BROKEN["on"] = False
            assert main(["jobs", "replay", str(dead.id)]) == 0
            assert "1 job(s) put back on the queue" in capsys.readouterr().out
            _wait(lambda: number in DONE)
            session.refresh(dead)
            assert dead.status is DeadJobStatus.replayed and dead.replayed_at is not None

            assert main(["jobs", "replay", str(dead.id)]) == 1  # no longer dead: nothing replayed twice
            assert f"no dead job with id {dead.id}" in capsys.readouterr().err
            assert main(["jobs", "list", "--status", "replayed"]) == 0
            assert "tests.flaky" in capsys.readouterr().out
        finally:
            consumer.stop(graceful=True)
            BROKEN["on"] = True
    queue.configure()


def test_replay_all_dead_and_bad_arguments(
    db_url: str, session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    numbers = [uuid.uuid4().int % 10**6 for _ in range(2)]
    with kefu_env(
        DATABASE_URL=db_url, KEFU_JOBS_SQLITE_PATH=str(tmp_path / "jobs.db"), KEFU_JOBS_APP_WORKERS="2"
    ):
        consumer = worker.start_in_app(get_settings())
        assert consumer is not None
        try:
            BROKEN["on"] = True
            for number in numbers:
                flaky(number)
            _wait(lambda: all(_dead(session, n) is not None for n in numbers))
            assert main(["jobs", "replay"]) == 2  # neither ids nor --all-dead
            BROKEN["on"] = False
            assert main(["jobs", "replay", "--all-dead"]) == 0
            _wait(lambda: set(numbers) <= set(DONE))
            assert main(["jobs", "list", "--status", "dead"]) == 0
            # Ours are no longer dead (other tests of the shared database may leave dead jobs of their own).
            assert "tests.flaky" not in capsys.readouterr().out
        finally:
            consumer.stop(graceful=True)
            BROKEN["on"] = True
    queue.configure()
