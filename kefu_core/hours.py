"""Business hours in a time zone: "24/7" or "Mon-Fri 09:00-18:00; Sat 10:00-14:00"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_SPAN = re.compile(r"^([a-z]{3})(?:-([a-z]{3}))?\s+(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class BusinessHours:
    """Opening windows per weekday (0 = Monday) in one time zone; empty windows mean always open."""

    zone: ZoneInfo
    windows: dict[int, list[tuple[time, time]]]
    always: bool

    @classmethod
    def parse(cls, spec: str, timezone: str) -> BusinessHours:
        """Parse the setting; ValueError names what is wrong."""
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"KEFU_TIMEZONE: unknown time zone {timezone!r}") from exc
        text = spec.strip().lower()
        if text in ("24/7", "always", ""):
            return cls(zone, {}, True)
        windows: dict[int, list[tuple[time, time]]] = {}
        for part in re.split(r"[;,]", text):
            part = " ".join(part.split())
            if not part:
                continue
            match = _SPAN.match(part)
            if not match or match.group(1) not in DAYS or (match.group(2) and match.group(2) not in DAYS):
                raise ValueError(
                    f"KEFU_BUSINESS_HOURS: cannot read {part!r} (expected e.g. 'Mon-Fri 09:00-18:00')"
                )
            first = DAYS.index(match.group(1))
            last = DAYS.index(match.group(2)) if match.group(2) else first
            h1, m1, h2, m2 = (int(match.group(i)) for i in range(3, 7))
            if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2, m2) <= (h1, m1) or (h2 == 24 and m2):
                raise ValueError(f"KEFU_BUSINESS_HOURS: bad times in {part!r}")
            end = time(23, 59, 59, 999999) if h2 == 24 else time(h2, m2)
            day = first
            while True:
                windows.setdefault(day, []).append((time(h1, m1), end))
                if day == last:
                    break
                day = (day + 1) % 7
        return cls(zone, windows, False)

    def is_open(self, at: datetime) -> bool:
        """True when `at` (aware) falls in an opening window."""
        if self.always:
            return True
        local = at.astimezone(self.zone)
        now = local.time()
        return any(start <= now < end for start, end in self.windows.get(local.weekday(), []))

    def next_open(self, at: datetime) -> datetime:
        """`at` itself when open, else the start of the next window (in UTC)."""
        if self.is_open(at):
            return at.astimezone(UTC)
        local = at.astimezone(self.zone)
        for offset in range(8):
            day = (local + timedelta(days=offset)).date()
            for start, _ in sorted(self.windows.get(day.weekday(), [])):
                candidate = datetime.combine(day, start, tzinfo=self.zone)
                if candidate > local:
                    return candidate.astimezone(UTC)
        raise ValueError("business hours have no opening window")  # parse() never builds such a value

    def business_seconds(self, start: datetime, end: datetime) -> float:
        """Seconds of opening time between two aware instants (0 when end <= start); DST-aware."""
        if end <= start:
            return 0.0
        if self.always:
            return (end - start).total_seconds()
        total = 0.0
        day = start.astimezone(self.zone).date()
        last = end.astimezone(self.zone).date()
        while day <= last:
            for open_at, close_at in self.windows.get(day.weekday(), []):
                # Local wall-clock windows made aware per day, so a DST change day keeps its real length.
                lo = max(start, datetime.combine(day, open_at, tzinfo=self.zone))
                close = datetime.combine(day, close_at, tzinfo=self.zone)
                if close_at == time(23, 59, 59, 999999):
                    close = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.zone)
                hi = min(end, close)
                if hi > lo:
                    total += (hi - lo).total_seconds()
            day += timedelta(days=1)
        return total
