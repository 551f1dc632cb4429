"""Helpers every action uses: due times as the customer reads them."""

from __future__ import annotations

import pytest

from actions.common import local_time
from tests.helpers import kefu_env


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "Thu 05 Nov, 14:30 (UTC+08:00)"), ("zh", "11月5日 14:30（UTC+08:00）"), ("fr", None)],
)
def test_local_time_in_the_shops_zone_and_the_customers_language(language: str, expected: str | None) -> None:
    with kefu_env(KEFU_TIMEZONE="Asia/Shanghai"):
        told = local_time("2026-11-05T06:30:00Z", language)
    assert told == (expected or "Thu 05 Nov, 14:30 (UTC+08:00)")  # an unknown language reads English


def test_local_time_without_a_time() -> None:
    assert local_time(None, "en") == local_time("", "zh") == "—"


def test_local_time_defaults_to_utc() -> None:
    with kefu_env(KEFU_TIMEZONE="UTC"):
        assert local_time("2026-01-02T03:04:00+00:00", "en") == "Fri 02 Jan, 03:04 (UTC+00:00)"
