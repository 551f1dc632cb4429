"""Test helpers: point kefu at a database and a var/ folder for a while."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from crm_bridge import config, db


def clear_caches() -> None:
    """Forget cached settings, engine and session factory."""
    config.get_settings.cache_clear()
    db.get_engine.cache_clear()
    db.get_sessionmaker.cache_clear()


@contextmanager
def kefu_env(**values: str) -> Iterator[None]:
    """Set environment variables (and drop kefu's caches) for the duration of the block."""
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
