"""A migrated SQLite database for the tests whose subject is not the database (logs, traces)."""

from __future__ import annotations

import pytest

from kefu.bootstrap import prepare_database
from tests.helpers import sqlite_url


@pytest.fixture(scope="module")
def sqlite_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh migrated and seeded SQLite database for one module."""
    url = sqlite_url(tmp_path_factory.mktemp("observability"))
    prepare_database(url)
    return url
