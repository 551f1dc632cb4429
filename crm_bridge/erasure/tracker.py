"""Rasa's tracker store (a SQL database, bot/endpoints.yml): deleting the events of erased conversations.

Rasa keys a tracker's events by `sender_id`, which is kefu's conversation id (crm_bridge/turns/respond.py).
crm_bridge reaches the store through the same RASA_TRACKER_* variables Rasa reads (kefu/stack.py passes
them to both); without RASA_TRACKER_DB it does not know the store and deletes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Column, MetaData, String, Table, create_engine, delete, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from kefu_core.settings import Settings, get_settings

# Only the column we filter on: the rest of Rasa's schema (rasa/core/tracker_store.py SQLEvent) is Rasa's.
_EVENTS = Table("events", MetaData(), Column("sender_id", String(255)))
_BATCH = 500
# Rasa names PostgreSQL "postgresql" (psycopg2); kefu's environment has psycopg 3.
_DRIVERS = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}


class TrackerUnavailable(Exception):
    """The tracker store could not be reached or refused the deletion (the message names no data)."""


def tracker_url(settings: Settings) -> URL | None:
    """The store's URL built as Rasa builds it (SQLTrackerStore.get_db_url), or None when not configured."""
    host, db = settings.rasa_tracker_host.strip(), settings.rasa_tracker_db.strip()
    if "://" in host:  # Rasa also takes a whole database URL in `url`
        return make_url(host)
    if not db:
        return None
    dialect = settings.rasa_tracker_dialect.strip() or "sqlite"
    if dialect == "sqlite":
        return URL.create("sqlite", database=db)
    name, _, port = host.partition(":")
    return URL.create(
        _DRIVERS.get(dialect, dialect),
        username=settings.rasa_tracker_user or None,
        password=settings.rasa_tracker_password or None,
        host=name or None,
        port=int(port) if port.isdigit() else None,
        database=db,
    )


def forget(conversation_ids: Sequence[str], settings: Settings | None = None) -> int:
    """Delete the tracker events of these conversations; how many rows went (0 when there is no store)."""
    url = tracker_url(settings or get_settings())
    if url is None or not conversation_ids:
        return 0
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return 0  # Rasa has not written a tracker yet; connecting would create an empty file
    engine = create_engine(url, poolclass=NullPool)  # erasures are rare: hold no connection between them
    try:
        with engine.begin() as conn:
            if not inspect(conn).has_table("events"):
                return 0
            removed = 0
            for start in range(0, len(conversation_ids), _BATCH):
                chunk = list(conversation_ids[start : start + _BATCH])
                removed += conn.execute(delete(_EVENTS).where(_EVENTS.c.sender_id.in_(chunk))).rowcount
            return removed
    except SQLAlchemyError as exc:
        # The type only: driver messages can carry the URL (with its password) or the statement's values.
        raise TrackerUnavailable(f"Rasa's tracker store: {type(exc).__name__}") from None
    finally:
        engine.dispose()
