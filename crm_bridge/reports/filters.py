"""The period and segment every report is cut by, checked once here (422 naming the field)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from kefu_core.errors import Invalid
from kefu_core.settings import get_settings

INTERVALS = ("hour", "day", "week")


@dataclass(frozen=True)
class ReportFilter:
    """[start, end) in UTC plus optional segment filters; agent_id is forced to the caller for agents."""

    start: datetime
    end: datetime
    channel: str | None = None
    language: str | None = None
    agent_id: int | None = None
    tier: str | None = None
    tag: str | None = None

    @property
    def days(self) -> float:
        """Length of the period in days."""
        return (self.end - self.start).total_seconds() / 86400

    def for_agent(self, agent_id: int) -> ReportFilter:
        """The same filter narrowed to one agent's own figures."""
        return replace(self, agent_id=agent_id)

    def as_query(self) -> dict[str, str]:
        """The filter as query parameters (links to drill-downs and exports keep it)."""
        pairs = {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "channel": self.channel,
            "language": self.language,
            "agent_id": str(self.agent_id) if self.agent_id is not None else None,
            "tier": self.tier,
            "tag": self.tag,
        }
        return {k: v for k, v in pairs.items() if v is not None}


def _parse_instant(value: str, field: str, zone: ZoneInfo, *, end: bool) -> datetime:
    """A date (the whole local day: `to` includes it) or a date-time; naive values are in KEFU_TIMEZONE."""
    text = value.strip()
    try:
        if len(text) == 10:  # YYYY-MM-DD
            day = datetime.strptime(text, "%Y-%m-%d").date()
            local = datetime.combine(day + timedelta(days=1) if end else day, time(0), tzinfo=zone)
            return local.astimezone(UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Invalid(
            f"{field}: expected a date (YYYY-MM-DD) or an ISO 8601 date-time, got {value[:40]!r}",
            details={"field": field},
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def build_filter(
    *,
    start: str | None,
    end: str | None,
    channel: str | None = None,
    language: str | None = None,
    agent_id: int | None = None,
    tier: str | None = None,
    tag: str | None = None,
    now: datetime | None = None,
) -> ReportFilter:
    """Check and normalise the query: default period the last 30 days; Invalid names the bad field."""
    settings = get_settings()
    zone = ZoneInfo(settings.timezone)
    now = now or datetime.now(UTC)
    end_at = _parse_instant(end, "to", zone, end=True) if end else now
    start_at = _parse_instant(start, "from", zone, end=False) if start else end_at - timedelta(days=30)
    if start_at >= end_at:
        raise Invalid("from: must be before to", details={"field": "from"})
    if end_at - start_at > timedelta(days=settings.reports_max_days):
        raise Invalid(
            f"to: the period may cover at most {settings.reports_max_days} days (KEFU_REPORTS_MAX_DAYS)",
            details={"field": "to"},
        )

    def clean(value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    return ReportFilter(
        start=start_at,
        end=end_at,
        channel=clean(channel),
        language=clean(language),
        agent_id=agent_id,
        tier=clean(tier),
        tag=clean(tag),
    )


def check_interval(interval: str) -> str:
    """hour, day or week; Invalid naming `interval` otherwise."""
    if interval not in INTERVALS:
        raise Invalid(f"interval: must be one of {', '.join(INTERVALS)}", details={"field": "interval"})
    return interval
