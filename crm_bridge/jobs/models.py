"""Dead jobs (tasks whose retries ran out, kept until someone replays them) and leases (one worker at a
time on a piece of work, e.g. a conversation's turns)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kefu_core.db import Base, UTCDateTime, utcnow


class DeadJobStatus(enum.StrEnum):
    """A dead job waits for a replay; a replayed one was put back on the queue."""

    dead = "dead"
    replayed = "replayed"


class DeadJob(Base):
    """One task that failed on its last retry (name and arguments are enough to run it again)."""

    __tablename__ = "dead_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    task: Mapped[str] = mapped_column(String(100), index=True)
    job_id: Mapped[str] = mapped_column(String(64))
    # Task arguments are ids (conversation ids, message ids), never message texts.
    args: Mapped[list[Any]] = mapped_column(JSON, default=list)
    kwargs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(Text)
    status: Mapped[DeadJobStatus] = mapped_column(
        Enum(DeadJobStatus, native_enum=False, length=16), default=DeadJobStatus.dead, index=True
    )
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    replayed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Lease(Base):
    """Who works on `key` now, until when: a killed worker's lease runs out and another takes over."""

    __tablename__ = "job_leases"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)  # e.g. "turns:<conversation id>"
    owner: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
