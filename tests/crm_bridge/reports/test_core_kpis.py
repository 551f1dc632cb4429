"""Every conversation KPI of a known history, exactly, on SQLite and PostgreSQL, in Asia/Shanghai with
business hours (tests/crm_bridge/reports/history.py describes the history)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from crm_bridge.reports import service
from crm_bridge.reports.filters import build_filter
from tests.crm_bridge.reports.history import ENV, FROM, TO, History, build
from tests.helpers import kefu_env


@pytest.fixture
def history(db_url: str) -> Iterator[History]:
    with kefu_env(**ENV):
        yield build(db_url)


def _summary(session: Session, tag: str, **extra: Any) -> dict[str, Any]:
    return service.summary(session, build_filter(start=FROM, end=TO, tag=tag, **extra))


def test_first_response(session: Session, history: History) -> None:
    fr = _summary(session, history.tag)["kpis"]["first_response"]
    # c6 60 s (from its handoff), c1 120 s (from the handoff at 10:02, not the start; the internal note
    # does not stop the clock), c2 Fri 17:55 -> Mon 09:10 = 227700 s (business: 5 min Fri + 10 min Mon).
    assert fr["count"] == 3
    assert fr["median_s"] == 120
    assert fr["p90_s"] == 182184.0  # 120 + 0.8 * (227700 - 120)
    assert fr["mean_s"] == 75960.0  # (60 + 120 + 227700) / 3
    assert fr["median_business_s"] == 120
    assert fr["p90_business_s"] == 744.0  # 120 + 0.8 * (900 - 120)
    assert fr["mean_business_s"] == 360.0
    assert fr["target_s"] == 180
    assert fr["met"] is False  # 360 s > 180 s


def test_resolution_is_reopen_aware(session: Session, history: History) -> None:
    res = _summary(session, history.tag)["kpis"]["resolution"]
    # first: c6 1200, c1 1800, c2 229200 (first resolution Mon 09:30); full: c2 234600 (Mon 11:00).
    assert res["first_median_s"] == 1800
    assert res["first_mean_s"] == 77400.0
    assert res["median_s"] == 1800
    assert res["p90_s"] == 188040.0  # 1800 + 0.8 * (234600 - 1800)
    assert res["mean_s"] == 79200.0
    assert (res["resolved"], res["reopened"], res["reopen_rate"]) == (3, 1, 0.3333)
    assert res["met"] is None  # no resolution target by default


def test_first_contact_resolution(session: Session, history: History) -> None:
    fcr = _summary(session, history.tag)["kpis"]["fcr"]
    # c1: A came back 5.4 days later (within 7); c2: two replies and a reopen; c6: first contact.
    assert fcr == {"rate": 0.3333, "resolved": 3, "first_contact": 1, "target": 0.95, "met": False}


def test_fcr_window_is_configurable(session: Session, history: History) -> None:
    with kefu_env(KEFU_FCR_WINDOW_DAYS="5"):  # A's return after 5 d 9.5 h is outside a 5-day window
        assert _summary(session, history.tag)["kpis"]["fcr"]["first_contact"] == 2


def test_bot_kpis(session: Session, history: History) -> None:
    bot = _summary(session, history.tag)["kpis"]["bot"]
    # handoffs c1, c2, c4 (offline ticket), c6; c5's declined escalation is none. Bot-resolved: c3 (C back
    # after 33 h), c5. KB: 5 decisions, 2 `none`.
    assert bot["resolution_rate"] == 0.3333
    assert bot["handoff_rate"] == 0.6667
    assert bot["containment_rate"] == 0.3333
    assert bot["unanswered_rate"] == 0.4
    assert (bot["handoffs"], bot["bot_resolved"], bot["kb_decisions"], bot["kb_none"]) == (4, 2, 5, 2)
    assert bot["handoffs_by_reason"] == {
        "complaint": {"count": 1, "rate": 0.1667},
        "customer_request": {"count": 2, "rate": 0.3333},
        "fallback": {"count": 1, "rate": 0.1667},
    }


def test_volume_and_sentiment(session: Session, history: History) -> None:
    volume = _summary(session, history.tag)["volume"]
    assert volume["conversations"] == 6
    assert volume["inbound_messages"] == 8
    assert volume["by_channel"] == {"api": 2, "widget": 4}
    assert volume["by_language"] == {"en": 4, "zh": 2}
    hours = {h: n for h, n in enumerate(volume["by_hour"]) if n}
    assert hours == {3: 1, 10: 1, 12: 1, 14: 1, 17: 1, 20: 1}  # local (Shanghai) hours
    assert volume["sentiment"] == {"positive": 3, "neutral": 3, "negative": 2, "negative_share": 0.25}


def test_segment_filters(session: Session, history: History) -> None:
    assert _summary(session, history.other_tag)["volume"]["conversations"] == 1
    assert _summary(session, history.tag, tier="vip")["volume"]["conversations"] == 1
    assert _summary(session, history.tag, channel="api")["volume"]["by_language"] == {"en": 1, "zh": 1}
    assert _summary(session, history.tag, language="zh")["kpis"]["first_response"]["count"] == 2
    mine = _summary(session, history.tag, agent_id=history.agent1)
    # agent1: c1 and c6 (assigned and replied); c7 is agent1's too but has the other tag.
    assert mine["volume"]["conversations"] == 2
    assert mine["kpis"]["first_response"]["mean_s"] == 90.0
    # agent2 wrote only an internal note in c4: c2 alone is theirs.
    assert _summary(session, history.tag, agent_id=history.agent2)["volume"]["conversations"] == 1
    both = service.summary(session, build_filter(start=FROM, end=TO, agent_id=history.agent1))
    assert both["volume"]["conversations"] >= 3  # c1, c6, c7 without the tag


def test_empty_period_is_zeros_and_nulls(session: Session, history: History) -> None:
    out = service.summary(session, build_filter(start="1999-01-01", end="1999-01-31"))
    assert out["volume"]["conversations"] == 0
    assert out["volume"]["by_hour"] == [0] * 24
    assert out["kpis"]["first_response"]["median_s"] is None
    assert out["kpis"]["first_response"]["met"] is None
    assert out["kpis"]["fcr"]["rate"] is None
    assert out["kpis"]["bot"]["unanswered_rate"] is None


def test_day_series_in_local_time(session: Session, history: History) -> None:
    flt = build_filter(start=FROM, end=TO, tag=history.tag)
    points = service.timeseries(session, flt, "conversations", "day")
    assert [p["t"] for p in points][:2] == ["2024-03-04T00:00:00+08:00", "2024-03-05T00:00:00+08:00"]
    assert [p["value"] for p in points] == [1, 1, 2, 0, 1, 1, 0]
    fr = service.timeseries(session, flt, "first_response_median", "day")
    assert [p["value"] for p in fr] == [120.0, None, 60.0, None, 227700.0, None, None]
    week = service.timeseries(session, flt, "handoff_rate", "week")
    assert week == [{"t": "2024-03-04T00:00:00+08:00", "value": 0.6667}]


def test_series_buckets_follow_the_time_zone(session: Session, history: History) -> None:
    with kefu_env(KEFU_TIMEZONE="UTC"):
        flt = build_filter(start="2024-03-04", end="2024-03-10", tag=history.tag)
        points = service.timeseries(session, flt, "conversations", "day")
    # c3 (Tue 03:00 Shanghai) is Monday 19:00 UTC; the others keep their day.
    assert [p["value"] for p in points] == [2, 0, 2, 0, 1, 1, 0]


def test_drilldown_lists_the_conversations_behind_a_figure(session: Session, history: History) -> None:
    flt = build_filter(start=FROM, end=TO, tag=history.tag)
    items, total = service.drilldown(session, flt, "first_response_mean", 0, 2)
    assert total == 3
    assert [i["id"] for i in items] == [history.conversations["c2"], history.conversations["c6"]]
    assert items[0]["value"] == 227700.0 and items[0]["channel"] == "api"
    items, total = service.drilldown(session, flt, "fcr_rate", 0, 50)
    assert total == 3
    assert {i["id"]: i["value"] for i in items}[history.conversations["c6"]] == 1.0


def test_rebuild_reproduces_the_rollup(session: Session, history: History) -> None:
    from crm_bridge.reports import facts

    before = _summary(session, history.tag)
    facts.rebuild(session)
    session.commit()
    assert _summary(session, history.tag) == before
