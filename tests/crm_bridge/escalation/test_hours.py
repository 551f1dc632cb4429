"""Business hours: parsing, time zones, the next opening, and bad settings refused at start."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kefu_core.hours import BusinessHours
from kefu_core.settings import Settings

SHANGHAI = "Asia/Shanghai"


@pytest.fixture(autouse=True)
def empty_floor() -> None:
    """Pure functions: no database needed."""


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_open_in_the_configured_zone_not_utc() -> None:
    hours = BusinessHours.parse("Mon-Fri 09:00-18:00", SHANGHAI)
    # Monday 2026-11-23 09:30 in Shanghai is 01:30 UTC: open.
    assert hours.is_open(at("2026-11-23T09:30:00+08:00"))
    assert hours.is_open(at("2026-11-23T01:30:00+00:00"))
    # 10:00 UTC Monday is 18:00 Shanghai: closed (the end is exclusive).
    assert not hours.is_open(at("2026-11-23T10:00:00+00:00"))
    # Saturday is closed.
    assert not hours.is_open(at("2026-11-28T12:00:00+08:00"))


def test_next_open_crosses_the_weekend_and_zone() -> None:
    hours = BusinessHours.parse("Mon-Fri 09:00-18:00", SHANGHAI)
    friday_evening = at("2026-11-27T19:00:00+08:00")
    assert hours.next_open(friday_evening) == at("2026-11-30T09:00:00+08:00")
    early = at("2026-11-24T07:00:00+08:00")
    assert hours.next_open(early) == at("2026-11-24T09:00:00+08:00")
    inside = at("2026-11-24T10:00:00+08:00")
    assert hours.next_open(inside) == inside


def test_several_windows_and_wraparound_days() -> None:
    hours = BusinessHours.parse(
        "Mon-Fri 09:00-12:00, Mon-Fri 13:00-18:00; Sat 10:00-14:00; Sun-Mon 20:00-24:00", "UTC"
    )
    assert not hours.is_open(at("2026-11-23T12:30:00+00:00"))  # lunch
    assert hours.is_open(at("2026-11-28T11:00:00+00:00"))  # Saturday
    assert hours.is_open(at("2026-11-29T23:59:00+00:00"))  # Sunday late
    assert hours.is_open(at("2026-11-23T21:00:00+00:00"))  # Monday late (Sun-Mon)
    assert hours.next_open(at("2026-11-23T12:30:00+00:00")) == at("2026-11-23T13:00:00+00:00")


def test_dst_zone() -> None:
    hours = BusinessHours.parse("Mon-Fri 09:00-17:00", "Europe/Berlin")
    assert hours.is_open(at("2026-07-06T07:30:00+00:00"))  # 09:30 CEST (UTC+2)
    assert not hours.is_open(at("2026-12-07T07:30:00+00:00"))  # 08:30 CET (UTC+1)


def test_always_open() -> None:
    hours = BusinessHours.parse("24/7", "UTC")
    assert hours.always and hours.is_open(at("2026-11-29T03:00:00+00:00"))


@pytest.mark.parametrize(
    ("spec", "zone"),
    [
        ("Mon-Fri 9-18", "UTC"),
        ("Funday 09:00-10:00", "UTC"),
        ("Mon 18:00-09:00", "UTC"),
        ("24/7", "Mars/Olympus"),
    ],
)
def test_bad_settings_are_refused(spec: str, zone: str) -> None:
    with pytest.raises(ValueError, match="KEFU_"):
        Settings(business_hours=spec, timezone=zone)
