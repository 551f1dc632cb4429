"""The at-risk list (docs/reports.md, "At risk"): each reason triggers on its own, a healthy contact and
signals outside the period do not, the score and order, the segment filters, paging, the route's roles
and 422s, and the reasons in the handoff packet. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from crm_bridge.agent import packet
from crm_bridge.contacts.models import Tier
from crm_bridge.conversations.models import MessageRole
from crm_bridge.reports import at_risk
from crm_bridge.reports.filters import ReportFilter
from crm_bridge.tickets.models import TicketStatus as S
from tests.crm_bridge.reports.voice_data import (
    at,
    contact,
    conversation,
    escalate,
    new_tag,
    rate,
    say,
    ticket_change,
)

START, END = at("2031-03-01", 0), at("2031-04-01", 0)


def seed(session: Session) -> dict[str, Any]:
    """One contact per reason, one with every reason, and contacts that must not be listed."""
    tag = new_tag()
    ids: dict[str, Any] = {"tag": tag}
    day = iter(f"2031-03-{d:02d}" for d in range(2, 29))

    def person(key: str, tier: Tier = Tier.standard, channel: str = "rest") -> Any:
        p = contact(session, tag, f"Name {key}", tier)
        ids[key] = p.id
        return p, conversation(session, p, at(next(day)), channel=channel)

    p, c = person("rating")
    rate(session, c, p, 1, None, at("2031-03-10"))
    rate(session, c, p, 5, "fine now", at("2031-03-11"))  # a later good rating does not cancel the low one

    p, c = person("negative", channel="widget")
    for i, label in enumerate(["negative", "positive", "negative", "neutral", "negative"]):
        say(session, c, f"message {i}", at("2031-03-12", 8 + i), label)

    p, c = person("reopened", tier=Tier.vip)
    ticket_change(session, p, c, S.resolved, S.open, at("2031-03-14"))

    p, c = person("complaint")
    escalate(session, c, "complaint", at("2031-03-15"))

    p, c = person("everything")
    rate(session, c, p, 2, "meh", at("2031-03-16"))
    say(session, c, "bad", at("2031-03-16", 9), "negative")
    say(session, c, "worse", at("2031-03-16", 10), "negative")
    ticket_change(session, p, c, S.resolved, S.open, at("2031-03-17"))
    escalate(session, c, "complaint", at("2031-03-17"))

    p, c = person("healthy")
    for i in range(3):
        say(session, c, f"thanks {i}", at("2031-03-18", 9 + i), "positive")
    say(session, c, "I am angry", at("2031-03-18", 13), "negative", role=MessageRole.agent)  # not theirs
    say(session, c, "angry note", at("2031-03-18", 14), "negative", internal=True)
    rate(session, c, p, 3, "ok", at("2031-03-18"))
    escalate(session, c, "customer_request", at("2031-03-18"))
    ticket_change(session, p, c, S.open, S.resolved, at("2031-03-18"))
    ticket_change(session, p, c, S.new, S.open, at("2031-03-19"))

    # Two negatives long ago, then four good messages and one bad: 1 of the last 5 is negative.
    p, c = person("recovered")
    for i, label in enumerate(
        ["negative", "negative", "positive", "positive", "positive", "positive", "negative"]
    ):
        say(session, c, f"m{i}", at("2031-03-20", 6 + i), label)

    p, c = person("outside")  # every signal before the period
    rate(session, c, p, 1, None, at("2031-02-20"))
    escalate(session, c, "complaint", at("2031-02-21"))
    ticket_change(session, p, c, S.resolved, S.open, at("2031-02-22"))
    session.commit()
    return ids


@pytest.fixture
def seeded(session: Session) -> dict[str, Any]:
    return seed(session)


def _f(tag: str, **segment: Any) -> ReportFilter:
    return ReportFilter(start=START, end=END, tag=tag, **segment)


def test_each_reason_and_the_score(session: Session, seeded: dict[str, Any]) -> None:
    risks = at_risk.assess(session, _f(seeded["tag"]))
    codes = {cid: sorted(r["code"] for r in risk.reasons) for cid, risk in risks.items()}
    assert codes == {
        seeded["rating"]: ["low_rating"],
        seeded["negative"]: ["negative_sentiment"],
        seeded["reopened"]: ["reopened_ticket"],
        seeded["complaint"]: ["complaint"],
        seeded["everything"]: ["complaint", "low_rating", "negative_sentiment", "reopened_ticket"],
    }
    scores = {cid: risk.score for cid, risk in risks.items()}
    assert scores[seeded["rating"]] == 40
    assert scores[seeded["negative"]] == 30  # three negatives among the last five
    assert scores[seeded["reopened"]] == 30
    assert scores[seeded["complaint"]] == 20
    assert scores[seeded["everything"]] == 100  # 40 + 20 + 30 + 20, capped
    negative = next(r for r in risks[seeded["negative"]].reasons)
    assert (negative["negative"], negative["of"]) == (3, 5)
    low = risks[seeded["rating"]].reasons[0]
    assert low["rating"] == 1 and low["at"].startswith("2031-03-10")


def test_listing_order_paging_and_segments(session: Session, seeded: dict[str, Any]) -> None:
    tag = seeded["tag"]
    page = at_risk.listing(session, _f(tag), limit=50, offset=0)
    order = [i["contact_id"] for i in page["items"]]
    # Score first; the two 30s by last contact (the reopened contact's conversation is the later one).
    assert order == [seeded[k] for k in ("everything", "rating", "reopened", "negative", "complaint")]
    assert page["total"] == 5
    first = page["items"][0]
    assert first["name"] == "Name everything" and first["score"] == 100
    assert first["reasons"][0]["code"] == "low_rating"  # heaviest reason first
    assert first["last_contact_at"].startswith("2031-03")
    second = at_risk.listing(session, _f(tag), limit=2, offset=1)
    assert [i["contact_id"] for i in second["items"]] == order[1:3] and second["total"] == 5
    vip = at_risk.listing(session, _f(tag, tier="vip"), limit=50, offset=0)
    assert [i["contact_id"] for i in vip["items"]] == [seeded["reopened"]]
    widget = at_risk.listing(session, _f(tag, channel="widget"), limit=50, offset=0)
    assert [i["contact_id"] for i in widget["items"]] == [seeded["negative"]]
    assert at_risk.listing(session, _f(new_tag()), limit=50, offset=0) == {"items": [], "total": 0}


def test_route_for_agents_and_admins(
    agent_client: tuple[TestClient, int], admin_client: tuple[TestClient, int], seeded: dict[str, Any]
) -> None:
    query = {"from": "2031-03-01", "to": "2031-03-31", "tag": seeded["tag"], "limit": 2}
    for api, _ in (agent_client, admin_client):
        response = api.get("/api/v1/reports/at-risk", params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total"] == 5 and len(body["items"]) == 2
        assert body["items"][0]["name"] == "Name everything"
    agent, _ = agent_client
    bad = agent.get("/api/v1/reports/at-risk", params={"from": "2031-03-05", "to": "2031-03-01"})
    assert bad.status_code == 422 and bad.json()["error"]["details"]["field"] == "from"
    too_long = agent.get("/api/v1/reports/at-risk", params={"from": "2020-01-01", "to": "2031-03-01"})
    assert too_long.status_code == 422 and too_long.json()["error"]["details"]["field"] == "to"


def test_handoff_packet_names_the_reasons(session: Session) -> None:
    tag, now = new_tag(), datetime.now(UTC)
    unhappy = contact(session, tag, "Unhappy")
    old = conversation(session, unhappy, now - timedelta(days=3))
    rate(session, old, unhappy, 1, "awful", now - timedelta(days=3))
    ticket_change(session, unhappy, old, S.resolved, S.open, now - timedelta(days=40))  # too long ago
    current = conversation(session, unhappy, now)
    happy = contact(session, tag, "Happy")
    happy_conv = conversation(session, happy, now)
    rate(session, happy_conv, happy, 5, None, now - timedelta(days=1))
    session.commit()
    built = packet.build(session, current)
    assert built["at_risk"]["score"] == 40
    assert [r["code"] for r in built["at_risk"]["reasons"]] == ["low_rating"]
    assert built["at_risk"]["reasons"][0]["conversation_id"] == old.id
    assert packet.build(session, happy_conv)["at_risk"] is None
