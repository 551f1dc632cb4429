"""Test helpers: point kefu at a database and a var/ folder for a while."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from kefu import benchlib
from kefu_core import db
from kefu_core import settings as config


def clear_caches() -> None:
    """Forget cached settings, engine and session factory."""
    config.get_settings.cache_clear()
    db.get_engine.cache_clear()
    db.get_sessionmaker.cache_clear()
    db.get_read_engine.cache_clear()
    db.get_read_sessionmaker.cache_clear()


@contextmanager
def kefu_env(**values: str) -> Iterator[None]:
    """Set environment variables (and drop kefu's caches) for the duration of the block. A short
    KEFU_RASA_TIMEOUT brings a shorter KEFU_ACTION_TIMEOUT (the settings insist Rasa gives up first)."""
    if "KEFU_RASA_TIMEOUT" in values and "KEFU_ACTION_TIMEOUT" not in values:
        values = {**values, "KEFU_ACTION_TIMEOUT": str(max(float(values["KEFU_RASA_TIMEOUT"]) / 2, 0.1))}
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    clear_caches()
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
        clear_caches()


def sqlite_url(folder: Path) -> str:
    """A fresh SQLite file URL in `folder`."""
    return f"sqlite:///{folder / 'kefu.db'}"


T = TypeVar("T")


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run in a thread of its own: Playwright's sync API (the page tests' session fixture)
    keeps an event loop running in the main thread, where asyncio.run refuses to start."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coroutine)
        except BaseException as exc:  # handed to the caller's thread below
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]  # type: ignore[no-any-return]


PG_ADMIN_URL = os.environ.get(
    "KEFU_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def postgres_database() -> Any:
    """The URL of a new, empty PostgreSQL database (a context manager), dropped afterwards."""
    return benchlib.postgres_database(PG_ADMIN_URL, prefix="kefu_test")
