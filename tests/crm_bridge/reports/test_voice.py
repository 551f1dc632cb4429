"""Voice of the customer (docs/reports.md): which texts count (complaints, negative customer messages,
low-rating comments) and which do not, grouping by the unanswered inbox's similarity, counts, kinds,
sentiment mix, trend against the previous period and per week, links, segment filters; the route is for
admins only and answers the same 422s. SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from crm_bridge.contacts.models import Tier
from crm_bridge.conversations.models import MessageRole
from crm_bridge.reports import voice
from crm_bridge.reports.filters import ReportFilter
from tests.crm_bridge.reports.voice_data import at, contact, conversation, escalate, new_tag, rate, say
from tests.knowledge_base.fakes import HashEncoder

START, END = at("2031-05-01", 0), at("2031-05-15", 0)  # previous period: 2031-04-17 to 2031-05-01
BROKEN = "the parcel arrived broken"


def seed(session: Session) -> dict[str, Any]:
    """Three topics in the period (one also before it), one only before it, and texts that don't count."""
    tag = new_tag()
    ana = contact(session, tag, "Ana")
    vip = contact(session, tag, "Bo", Tier.vip)
    a = conversation(session, ana, at("2031-05-02", 8))
    say(session, a, "hello", at("2031-05-02", 8), "neutral")
    say(session, a, BROKEN, at("2031-05-02", 9), "negative")  # a complaint's words: counted once
    escalate(session, a, "complaint", at("2031-05-02", 10))
    say(session, a, "still waiting for someone", at("2031-05-02", 11), "neutral")  # after: not the complaint
    b = conversation(session, ana, at("2031-05-08", 8))
    say(session, b, BROKEN + " again", at("2031-05-08", 9), "negative")
    c = conversation(session, vip, at("2031-05-09", 8), channel="widget")
    rate(session, c, vip, 1, "The parcel arrived broken!", at("2031-05-09", 9))
    d = conversation(session, ana, at("2031-04-20", 8))
    say(session, d, BROKEN, at("2031-04-20", 9), "negative")  # the previous period
    say(session, d, "the app crashes on login", at("2031-04-21", 9), "negative")  # previous only
    e = conversation(session, vip, at("2031-05-10", 8))
    say(session, e, "refund is too slow", at("2031-05-10", 9), "negative")
    say(session, e, "refund is too slow", at("2031-05-11", 9), "negative")
    z = conversation(session, ana, at("2031-05-12", 8), language="zh")
    say(session, z, "退款太慢了", at("2031-05-12", 9), "negative")
    # Not counted: good or blank feedback, positive and neutral words, agents' words, notes, other periods.
    rate(session, e, vip, 4, "parcel arrived broken", at("2031-05-10", 10))
    rate(session, e, vip, 2, "   ", at("2031-05-10", 11))
    rate(session, e, vip, 1, None, at("2031-05-10", 12))
    say(session, e, "refund is too slow", at("2031-05-10", 13), "positive")
    say(session, e, "refund is too slow", at("2031-05-10", 14), "negative", role=MessageRole.agent)
    say(session, e, "refund is too slow", at("2031-05-10", 15), "negative", internal=True)
    say(session, e, "refund is too slow", at("2031-05-15", 1), "negative")  # after the period
    say(session, e, "refund is too slow", at("2031-04-10", 1), "negative")  # before the previous one
    escalate(session, e, "customer_request", at("2031-05-11", 10))
    session.commit()
    return {"tag": tag, "a": a.id, "b": b.id, "c": c.id, "e": e.id, "z": z.id}


@pytest.fixture
def seeded(session: Session) -> dict[str, Any]:
    return seed(session)


def _labels(texts: list[str]) -> list[str | None]:
    return ["neutral" for _ in texts]  # what the process's analyser would say of the comments


def _report(session: Session, tag: str, **segment: Any) -> dict[str, Any]:
    f = ReportFilter(start=START, end=END, tag=tag, **segment)
    return voice.report(session, f, HashEncoder(), labeller=_labels)


def test_groups_counts_trend_and_links(
    session: Session, seeded: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = _report(session, seeded["tag"])
    assert body["total"] == 6 and body["previous_total"] == 2
    assert body["kinds"] == {"complaint": 1, "negative": 4, "low_rating": 1}
    assert body["truncated"] is False
    topics = [(g["topic"], g["language"], g["count"]) for g in body["groups"]]
    assert topics == [
        ("The parcel arrived broken!", "en", 3),  # the newest text of the group stands for it
        ("refund is too slow", "en", 2),
        ("退款太慢了", "zh", 1),
    ]
    broken, refund, chinese = body["groups"]
    assert broken["kinds"] == {"complaint": 1, "negative": 1, "low_rating": 1}
    assert broken["sentiment"] == {"negative": 2, "neutral": 1, "positive": 0, "unknown": 0}
    assert broken["trend"]["previous"] == 1 and broken["trend"]["change"] == 2
    weeks = [(w["t"][:10], w["count"]) for w in broken["trend"]["weekly"]]
    assert weeks == [("2031-04-28", 1), ("2031-05-05", 2), ("2031-05-12", 0)]  # Monday weeks
    assert broken["conversation_ids"] == [seeded["c"], seeded["b"], seeded["a"]]
    assert broken["conversations"] == 3
    assert refund["conversation_ids"] == [seeded["e"]] and refund["trend"]["previous"] == 0
    assert chinese["conversation_ids"] == [seeded["z"]]
    assert all(BROKEN not in r.getMessage() and "refund" not in r.getMessage() for r in caplog.records)


def test_segment_filters(session: Session, seeded: dict[str, Any]) -> None:
    widget = _report(session, seeded["tag"], channel="widget")
    assert [(g["topic"], g["count"], g["kinds"]["low_rating"]) for g in widget["groups"]] == [
        ("The parcel arrived broken!", 1, 1)
    ]
    vip = _report(session, seeded["tag"], tier="vip")
    assert sorted((g["topic"], g["count"]) for g in vip["groups"]) == [
        ("The parcel arrived broken!", 1),
        ("refund is too slow", 2),
    ]
    zh = _report(session, seeded["tag"], language="zh")
    assert [g["topic"] for g in zh["groups"]] == ["退款太慢了"]
    empty = _report(session, new_tag())
    assert empty["groups"] == [] and empty["total"] == 0 and empty["kinds"]["complaint"] == 0


def test_comments_without_a_labeller_are_unknown(session: Session, seeded: dict[str, Any]) -> None:
    f = ReportFilter(start=START, end=END, tag=seeded["tag"], channel="widget")
    body = voice.report(session, f, HashEncoder())
    assert body["groups"][0]["sentiment"]["unknown"] == 1


def test_route_is_for_admins(
    admin_client: tuple[TestClient, int], agent_client: tuple[TestClient, int], seeded: dict[str, Any]
) -> None:
    admin, _ = admin_client
    query = {"from": "2031-05-01", "to": "2031-05-14", "tag": seeded["tag"]}
    response = admin.get("/api/v1/reports/voice", params=query)
    assert response.status_code == 200, response.text
    body = response.json()
    # The real sentence model groups the identical texts (whatever it makes of the near ones).
    assert body["total"] == 6 and body["kinds"] == {"complaint": 1, "negative": 4, "low_rating": 1}
    refund = next(g for g in body["groups"] if g["topic"] == "refund is too slow")
    assert refund["count"] == 2 and refund["conversation_ids"] == [seeded["e"]]
    assert sum(g["count"] for g in body["groups"]) == 6
    agent, _ = agent_client
    assert agent.get("/api/v1/reports/voice", params=query).status_code == 403
    bad = admin.get("/api/v1/reports/voice", params={"from": "soon"})
    assert bad.status_code == 422 and bad.json()["error"]["details"]["field"] == "from"
    tier = admin.get("/api/v1/reports/voice", params={"tier": "gold"})
    assert tier.status_code == 422 and tier.json()["error"]["details"]["field"] == "tier"
