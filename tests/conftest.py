"""Shared fixtures: real databases (SQLite file and a throw-away PostgreSQL database)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from kefu.bootstrap import prepare_database
from kefu_core.db import make_engine
from tests.helpers import postgres_database, sqlite_url

# What `make test-fast` leaves out (-m "not slow and not postgres"): tests that start Rasa, crm_bridge
# workers or a browser, train a model, fuzz the whole API or run the CLI more than once (test ids' prefixes).
SLOW_PATHS = (
    "tests/e2e/",
    "tests/browser/",
    "tests/bot/",
    "tests/crm_bridge/widget/test_redis_fanout.py",
    "tests/knowledge_base/test_adapt.py",
    "tests/knowledge_base/test_index_store.py::test_cli_reindex_rebuilds_the_store",
    "tests/crm_bridge/api/test_openapi_fuzz.py",
)


def pytest_configure(config: pytest.Config) -> None:
    """Keep every test's runtime files (secrets, credentials, logs) out of the checkout's var/."""
    if "KEFU_VAR_DIR" not in os.environ:
        os.environ["KEFU_VAR_DIR"] = tempfile.mkdtemp(prefix="kefu-test-var-")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark slow tests by where they live, and PostgreSQL runs by their database parameter."""
    for item in items:
        if item.nodeid.startswith(SLOW_PATHS):
            item.add_marker(pytest.mark.slow)
        params = getattr(getattr(item, "callspec", None), "params", {})
        if params.get("db_url") == "postgres" or "postgres_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


pytest_plugins = ["tests.app_fixtures"]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database for this test run, dropped afterwards."""
    with postgres_database() as url:
        yield url


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated and seeded database of each kind (session-wide; tests add rows, never assume empty)."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path_factory.mktemp("sqlite"))
    else:
        url = request.getfixturevalue("postgres_url")
    prepare_database(url)
    return url


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    """A session on the test database."""
    engine = make_engine(db_url)
    with Session(engine, expire_on_commit=False) as s:
        yield s
    engine.dispose()
