"""Audit entries (append-only) and the retention job's purges, which alone may delete old entries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kefu_core.db import Base, UTCDateTime, utcnow


class AuditEntry(Base):
    """One recorded action. The database refuses to update a row, and to delete one unless an
    `AuditPurge` cutoff lies after it (migration 0015): nothing but the retention job removes entries."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_target", "target_type", "target_id"),
        Index("ix_audit_log_actor_at", "actor_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    # No foreign key: an entry outlives the account it names (and a cascade would be refused anyway).
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_username: Mapped[str | None] = mapped_column(String(64))
    actor_role: Mapped[str | None] = mapped_column(String(16))  # agent, admin, service; None: anonymous
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    client_address: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    # Ids, counts, field names, states: never personal data (crm_bridge/audit/service.py checks keys).
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AuditPurge(Base):
    """One run of the retention job: entries older than `cutoff` may be deleted, and only those."""

    __tablename__ = "audit_purges"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    cutoff: Mapped[datetime] = mapped_column(UTCDateTime())
    deleted: Mapped[int] = mapped_column(Integer, default=0)
