"""What every channel test module shares: crm_bridge in-process with a channel's settings, queue worker
threads on a job file of its own, and the fake bot; and polling until something has happened."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from crm_bridge.app import create_app
from crm_bridge.jobs import queue
from tests.app_fixtures import SERVICE_TOKEN
from tests.fakes.rasa_server import FakeRasa
from tests.helpers import kefu_env


@contextmanager
def channel_app(
    db_url: str, tmp_path_factory: pytest.TempPathFactory, rasa: FakeRasa, **settings: str
) -> Iterator[TestClient]:
    """A client of crm_bridge on `db_url` whose bot is `rasa`, with `settings` (a channel's) and two
    worker threads; the queue goes back to the default storage afterwards."""
    jobs = Path(tmp_path_factory.mktemp("jobs")) / "jobs.db"
    try:
        with (
            kefu_env(
                DATABASE_URL=db_url,
                RASA_URL=rasa.url,
                ACTION_SERVER_URL=rasa.url,
                KEFU_SERVICE_TOKEN=SERVICE_TOKEN,
                KEFU_RASA_TIMEOUT="2",
                KEFU_JOBS_SQLITE_PATH=str(jobs),
                KEFU_JOBS_APP_WORKERS="2",
                **settings,
            ),
            TestClient(create_app()) as client,
        ):
            yield client
    finally:
        queue.configure()


def wait_for(condition: Callable[[], bool], timeout: float = 20) -> None:
    """Poll `condition` every 0.1 s until it holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
