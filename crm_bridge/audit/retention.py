"""KEFU_AUDIT_RETENTION_DAYS: deleting older entries, the only way entries go.

`purge_expired` runs hourly as the queue's periodic task `audit.purge`, registered by crm_bridge/worker.py
(the audit log imports nothing of the job queue, whose routes need accounts, which record into it)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from crm_bridge.audit.models import AuditEntry, AuditPurge
from crm_bridge.audit.service import record
from kefu_core.db import get_sessionmaker, utcnow
from kefu_core.settings import get_settings

log = logging.getLogger("kefu.audit")


def purge(session: Session, *, days: int, now: datetime | None = None) -> int:
    """Delete entries older than `days` (and record that it did); how many went. Commits.

    The purge row comes first: the database's guard (migration 0015) lets a row be deleted only when a
    purge's cutoff lies after it."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    permit = AuditPurge(cutoff=cutoff)
    session.add(permit)
    session.flush()
    result = session.execute(
        delete(AuditEntry).where(AuditEntry.at < cutoff).execution_options(synchronize_session=False)
    )
    permit.deleted = int(getattr(result, "rowcount", 0) or 0)
    record(
        session,
        None,
        None,
        action="audit.purge",
        target_type="audit_log",
        details={"cutoff": cutoff.isoformat(), "deleted": permit.deleted, "retention_days": days},
    )
    session.commit()
    return permit.deleted


def purge_expired() -> None:
    """Delete the entries older than KEFU_AUDIT_RETENTION_DAYS (the periodic task `audit.purge`)."""
    with get_sessionmaker()() as session:
        deleted = purge(session, days=get_settings().audit_retention_days)
    if deleted:
        log.info("audit log: %d entries past the retention deleted", deleted)
