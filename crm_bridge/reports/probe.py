"""crm_bridge's own availability probe: every minute, the parts /healthz checks, stored once per minute
(docs/reports.md "Availability"). Every job worker's scheduler fires it, so two workers may probe the
same minute: the minute is the table's key and the second row is refused."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from huey import crontab
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from crm_bridge import health
from crm_bridge.jobs import queue
from crm_bridge.rasa_client import RasaClient
from crm_bridge.reports.models_probe import ServiceProbe
from kefu_core.db import get_sessionmaker, utcnow
from kefu_core.settings import get_settings

log = logging.getLogger("kefu.reports")

PARTS = health.PARTS
PROBE_TIMEOUT_S = 3.0  # each HTTP check; the four together stay well inside the minute


def minute_of(at: datetime) -> datetime:
    """The start of the minute holding `at`."""
    return at.replace(second=0, microsecond=0)


def store(
    session: Session,
    *,
    minute: datetime,
    parts: Mapping[str, Mapping[str, Any]],
    checked_at: datetime,
    duration_ms: int,
) -> bool:
    """Insert the minute's row (not committed); False when that minute already has one."""
    oks = {name: bool(parts.get(name, {}).get("ok")) for name in PARTS}
    row = ServiceProbe(
        minute=minute_of(minute),
        healthy=all(oks.values()),
        database_ok=oks["database"],
        rasa_ok=oks["rasa"],
        action_server_ok=oks["action_server"],
        knowledge_base_ok=oks["knowledge_base"],
        checked_at=checked_at,
        duration_ms=duration_ms,
    )
    try:
        with session.begin_nested():  # losing the race to another worker keeps the session usable
            session.add(row)
    except IntegrityError:
        return False
    return True


def probe_once(make_session: Callable[[], Session], rasa: RasaClient, *, now: datetime | None = None) -> bool:
    """Check every part and store this minute's row; False when the minute was already probed or the row
    could not be stored (the database down: that minute stays unknown)."""
    minute = minute_of(now or utcnow())
    try:
        with make_session() as session:
            if session.get(ServiceProbe, minute) is not None:
                return False  # another worker got here first: skip the checks too
            started = time.monotonic()
            parts = health.check_parts(session, rasa)
            duration_ms = int((time.monotonic() - started) * 1000)
            session.rollback()  # a failed database check may have aborted the transaction
            stored = store(session, minute=minute, parts=parts, checked_at=utcnow(), duration_ms=duration_ms)
            session.commit()
            return stored
    except SQLAlchemyError as exc:
        log.warning("availability probe for %s not stored: %s", minute.isoformat(), type(exc).__name__)
        return False


def purge(session: Session, *, days: int, now: datetime | None = None) -> int:
    """Delete probe rows older than `days` (commits); how many went."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    result = session.execute(
        delete(ServiceProbe).where(ServiceProbe.minute < cutoff).execution_options(synchronize_session=False)
    )
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def latest(session: Session) -> ServiceProbe | None:
    """The newest stored probe."""
    return session.scalars(select(ServiceProbe).order_by(ServiceProbe.minute.desc()).limit(1)).first()


@queue.huey.periodic_task(crontab(minute="*"), name="reports.probe")
def probe_task() -> None:
    """Every minute: probe the parts and store the minute's row."""
    settings = get_settings()
    rasa = RasaClient(settings.rasa_replicas, timeout_s=PROBE_TIMEOUT_S)
    try:
        probe_once(get_sessionmaker(), rasa)
    finally:
        rasa.close()


@queue.huey.periodic_task(crontab(minute="23"), name="reports.probe_purge")
def purge_task() -> None:
    """Hourly: probe rows older than KEFU_REPORTS_MAX_DAYS go (the longest report ending now stays covered;
    older minutes read as unknown: docs/reports.md "Availability")."""
    with get_sessionmaker()() as session:
        purge(session, days=get_settings().reports_max_days)
