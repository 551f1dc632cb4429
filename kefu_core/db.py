"""Engine, session factories and the declarative base shared by every domain package (no HTTP here)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from kefu_core.settings import get_settings

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Timezone-aware now in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; always returns aware datetimes (SQLite would otherwise drop the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    """Declarative base with constraint names Alembic can diff on every backend."""

    metadata = MetaData(naming_convention=NAMING)


def make_engine(url: str, *, autocommit: bool = False) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout. Errors and logs never show
    bound parameters (customers' words and details).

    `autocommit` (PostgreSQL): every statement stands alone, for sessions that only read.
    """
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    # Pre-ping: a connection the server dropped (restart, failover) is replaced at checkout instead of failing
    # the request that drew it; a loopback round trip per checkout (issue 22). Recycling covers idle timeouts.
    if autocommit:
        # Its own pool: switching a shared pool's connections in and out of autocommit on every checkout
        # costs more than the lookup's own ORM work. Small: two lookup threads (reads.READ_THREADS),
        # text searches and the odd account read.
        return create_engine(
            url,
            pool_recycle=1800,
            pool_size=3,
            max_overflow=5,
            isolation_level="AUTOCOMMIT",
            hide_parameters=True,
            pool_pre_ping=True,
        )
    return create_engine(
        url, pool_recycle=1800, pool_size=10, max_overflow=20, hide_parameters=True, pool_pre_ping=True
    )


@lru_cache
def get_engine() -> Engine:
    """The process-wide engine for the configured DATABASE_URL."""
    return make_engine(get_settings().database_url)


@lru_cache
def get_sessionmaker() -> sessionmaker[Session]:
    """Session factory bound to the process-wide engine."""
    return sessionmaker(get_engine(), expire_on_commit=False)


@lru_cache
def get_read_engine() -> Engine:
    """The engine for read-only sessions: on PostgreSQL an autocommit one, so a lookup is one round trip."""
    engine = get_engine()
    if engine.dialect.name != "postgresql":
        return engine  # SQLite's driver opens no transaction for a SELECT
    # A transaction costs a BEGIN and a ROLLBACK round trip around each lookup's one SELECT.
    return make_engine(get_settings().database_url, autocommit=True)


@lru_cache
def get_read_sessionmaker() -> sessionmaker[Session]:
    """Session factory for reads only (see `get_read_engine`)."""
    return sessionmaker(get_read_engine(), expire_on_commit=False)


@contextmanager
def read_session() -> Iterator[Session]:
    """A session for reading only (it never commits; on PostgreSQL each statement stands alone)."""
    with get_read_sessionmaker()() as session:
        yield session
