"""The real stack: Rasa 3.6 (.venv-rasa), the action server and crm_bridge, on free ports,
against a fresh SQLite database in a temporary var/ folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kefu.bootstrap import prepare_database
from kefu.model import ensure_model
from kefu.stack import Ports, Stack
from tests.helpers import sqlite_url


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """All three processes, started once for the e2e tests and stopped afterwards."""
    var = tmp_path_factory.mktemp("e2e-var")
    url = sqlite_url(var)
    prepare_database(url)
    running = Stack(
        model=ensure_model(quiet=True),
        ports=Ports.free(),
        var=var,
        env={
            "DATABASE_URL": url,
            "KEFU_VAR_DIR": str(var),
            # The very-negative trigger (one message) would hand most complaints straight to a human,
            # before the dialogue speaks; here the dialogue's own answers are under test, so only
            # "two negative in a row" stays on (the single-message trigger: tests/crm_bridge/escalation).
            "KEFU_NEGATIVE_SENTIMENT_THRESHOLD": "-1",
            # Every process logs at DEBUG, so tests/e2e/test_logs.py can check no personal data gets through.
            "KEFU_LOG_LEVEL": "DEBUG",
            "LOG_LEVEL": "DEBUG",
        },
    )
    running.start(timeout=300)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def api(stack: Stack) -> Iterator[httpx.Client]:
    """HTTP client for crm_bridge."""
    with httpx.Client(base_url=stack.api_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def e2e_db_url(stack: Stack) -> str:
    """The e2e database."""
    return sqlite_url(Path(stack.var))
