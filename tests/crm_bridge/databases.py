"""Fresh databases of their own, for tests that must not share the session's (migrations, fuzzing)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers import postgres_database, sqlite_url


@contextmanager
def fresh_database(kind: str, folder: Path) -> Iterator[str]:
    """The URL of a new, empty database of `kind` ("sqlite" in `folder`, or "postgres"), dropped after."""
    if kind == "sqlite":
        yield sqlite_url(folder)
        return
    with postgres_database() as url:
        yield url
