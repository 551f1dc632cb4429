"""The rollup's backlog: a commit marks the conversations it touched (one upsert, with the status changes
it made); the marks are applied before a report reads and by the minute's job `reports.facts`, so the
facts are exact whenever a report is read without a chat turn paying for the recompute."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from huey import crontab
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from crm_bridge.jobs import queue
from crm_bridge.reports import facts
from crm_bridge.reports.models import FactsPending as P
from kefu_core.db import get_sessionmaker

BATCH = 2000


@dataclass
class Change:
    """What one commit did to a conversation's status history."""

    resolutions: int = 0
    reopens: int = 0
    first_resolved_at: datetime | None = None


def mark(session: Session, ids: Iterable[str], new: set[str], changes: dict[str, Change]) -> None:
    """Note these conversations as out of date, adding up the status changes (the caller's transaction)."""
    rows: list[dict[str, Any]] = []
    for conversation_id in sorted(set(ids)):
        change = changes.get(conversation_id) or Change()
        rows.append(
            {
                "conversation_id": conversation_id,
                "resolutions": change.resolutions,
                "reopens": change.reopens,
                "first_resolved_at": change.first_resolved_at,
                "new": conversation_id in new,
            }
        )
    if not rows:
        return
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = dialect_insert(P)
    added = stmt.excluded
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[P.conversation_id],
            set_={
                "resolutions": P.resolutions + added.resolutions,
                "reopens": P.reopens + added.reopens,
                "first_resolved_at": func.coalesce(P.first_resolved_at, added.first_resolved_at),
                "new": P.new | added.new,
            },
        ),
        rows,
    )


def apply(session: Session) -> int:
    """Recompute every marked conversation's facts and clear the marks (the caller commits); how many.
    Marks are taken with DELETE ... RETURNING, so two workers applying at once never count one twice."""
    done = 0
    while True:
        claim = select(P.conversation_id).order_by(P.conversation_id).limit(BATCH)
        if session.get_bind().dialect.name == "postgresql":
            claim = claim.with_for_update(skip_locked=True)
        ids = list(session.scalars(claim))
        if not ids:
            return done
        taken = session.execute(
            delete(P)
            .where(P.conversation_id.in_(ids))
            .returning(P.conversation_id, P.resolutions, P.reopens, P.first_resolved_at, P.new)
        ).all()
        changes = {
            row.conversation_id: facts.Pending(
                row.resolutions, row.reopens, facts.aware(row.first_resolved_at)
            )
            for row in taken
        }
        new = [row.conversation_id for row in taken if row.new]
        facts.refresh(session, set(changes) | (facts.previous_of(session, new) if new else set()), changes)
        done += len(taken)
        if len(ids) < BATCH:
            return done


def outstanding(session: Session) -> int:
    """How many conversations wait for their facts (for tests and monitoring)."""
    return int(session.scalar(select(func.count()).select_from(P)) or 0)


@queue.huey.periodic_task(crontab(minute="*"), name="reports.facts")
def apply_task() -> None:
    """Every minute: bring the marked conversations' facts up to date (reports then find little to do)."""
    with get_sessionmaker()() as session:
        apply(session)
        session.commit()
