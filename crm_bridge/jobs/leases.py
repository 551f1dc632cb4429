"""Leases in the database: one worker at a time on a key (a conversation's turns, its outbound
messages), on SQLite and PostgreSQL alike, and crash-safe because a lease runs out (no HTTP)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import delete, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm_bridge.jobs.models import Lease
from kefu_core.db import get_sessionmaker, utcnow


def acquire(session: Session, key: str, *, owner: str, seconds: float) -> bool:
    """Take the lease on `key` (free, expired or already ours) for `seconds`; commits."""
    now = utcnow()
    expires = now + timedelta(seconds=seconds)
    taken = session.execute(
        update(Lease)
        .where(Lease.key == key, or_(Lease.expires_at < now, Lease.owner == owner))
        .values(owner=owner, expires_at=expires)
    )
    if taken.rowcount:  # type: ignore[attr-defined]
        session.commit()
        return True
    session.add(Lease(key=key, owner=owner, expires_at=expires))
    try:
        session.commit()
    except IntegrityError:  # someone else holds it (or took it a moment ago)
        session.rollback()
        return False
    return True


def release(session: Session, key: str, *, owner: str) -> None:
    """Give the lease back (only our own); commits."""
    session.execute(delete(Lease).where(Lease.key == key, Lease.owner == owner))
    session.commit()


def drain(
    key: str,
    step: Callable[[Session], float | None],
    *,
    due: Callable[[Session], bool],
    owner: str,
    seconds: float,
) -> float | None:
    """Run `step` under the lease on `key` until it has nothing to do now (None) or asks for a retry
    (its delay, returned). `step` returns 0 after each piece of work. A caller that finds the lease
    taken returns None at once: the holder looks again (`due`) after letting go, so work stored
    meanwhile is not stranded."""
    while True:
        with get_sessionmaker()() as session:
            if not acquire(session, key, owner=owner, seconds=seconds):
                return None
            renewed = time.monotonic()
            try:
                while (outcome := step(session)) == 0.0:
                    # Renewed once half of it has passed: a write per piece of work would cost every turn.
                    if time.monotonic() - renewed > seconds / 2:
                        acquire(session, key, owner=owner, seconds=seconds)
                        renewed = time.monotonic()
            finally:
                session.rollback()
                release(session, key, owner=owner)
            if outcome is not None or not due(session):
                return outcome
