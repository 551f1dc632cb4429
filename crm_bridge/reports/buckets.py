"""Time buckets in KEFU_TIMEZONE computed in SQL: PostgreSQL's date_trunc on local time, and on SQLite (which
knows no time zones) a deterministic SQL function registered on the connection that uses zoneinfo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, cast, func, literal
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from crm_bridge.reports.filters import ReportFilter
from kefu_core.settings import get_settings

_SQLITE_FN = "kefu_bucket"


def _zone() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def _parse_sqlite(value: str) -> datetime:
    # SQLAlchemy stores UTC instants on SQLite as "YYYY-MM-DD HH:MM:SS[.ffffff]" without an offset.
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def local_trunc(at: datetime, unit: str, zone: ZoneInfo) -> datetime:
    """The naive local start of the hour, day or ISO week (Monday) holding the aware instant `at`."""
    local = at.astimezone(zone).replace(tzinfo=None)
    if unit == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday()) if unit == "week" else day


def _sqlite_bucket(value: str | None, unit: str, timezone: str) -> str | int | None:
    if value is None:
        return None
    at = _parse_sqlite(value)
    zone = ZoneInfo(timezone)
    if unit == "hourofday":
        return at.astimezone(zone).hour
    return local_trunc(at, unit, zone).isoformat(sep=" ")


def _ensure_sqlite_function(session: Session) -> None:
    # Cheap (microseconds) and idempotent; the sqlite3 connection object cannot carry a marker attribute.
    raw: Any = session.connection().connection.driver_connection
    raw.create_function(_SQLITE_FN, 3, _sqlite_bucket, deterministic=True)


def bucket(session: Session, column: Any, interval: str) -> ColumnElement[Any]:
    """A SQL expression for the local start of `column`'s hour/day/week (read it with `start_of`)."""
    tz = get_settings().timezone
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc(literal(interval), func.timezone(literal(tz), column))
    _ensure_sqlite_function(session)
    return getattr(func, _SQLITE_FN)(column, literal(interval), literal(tz))


def hour_of_day(session: Session, column: Any) -> ColumnElement[Any]:
    """A SQL expression for the local hour (0-23) of `column`."""
    tz = get_settings().timezone
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.extract("hour", func.timezone(literal(tz), column)), Integer)
    _ensure_sqlite_function(session)
    return getattr(func, _SQLITE_FN)(column, literal("hourofday"), literal(tz))


def start_of(raw: Any) -> datetime:
    """The aware local start of a bucket as returned by `bucket` (naive local datetime or its text)."""
    local = datetime.fromisoformat(raw) if isinstance(raw, str) else raw
    return local.replace(tzinfo=None).replace(tzinfo=_zone())


def all_buckets(flt: ReportFilter, interval: str) -> list[datetime]:
    """Every bucket start (aware, local) overlapping the period, so a series has no gaps."""
    zone = _zone()
    step = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}[interval]
    current = local_trunc(flt.start, interval, zone)
    last = flt.end - timedelta(microseconds=1)
    out: list[datetime] = []
    # Walk local wall-clock time (a DST day is still one day); hours that repeat in autumn collapse.
    while True:
        aware = current.replace(tzinfo=zone)
        if aware.astimezone(UTC) > last:
            break
        if not out or out[-1] != aware:
            out.append(aware)
        current += step
    return out


def fill(
    flt: ReportFilter, interval: str, rows: dict[datetime, float | None]
) -> list[tuple[datetime, float | None]]:
    """The complete series: every bucket of the period with its value from `rows` (None when absent)."""
    keyed = {k.replace(tzinfo=None): v for k, v in rows.items()}
    return [(b, keyed.get(b.replace(tzinfo=None))) for b in all_buckets(flt, interval)]
