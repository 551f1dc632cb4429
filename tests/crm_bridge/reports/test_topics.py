"""What customers ask most (docs/reports.md): intent counts from a real SQLite file with Rasa's tracker-store
schema (the period, user events only, segments through kefu's conversations), `available: false` with a
reason when the store is not configured, missing or unreachable; answers per FAQ entry and the decisions
from kb_decisions; the period's unanswered questions grouped as the inbox groups them; the route is for
admins. kefu's database on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, create_engine, insert
from sqlalchemy.orm import Session

from crm_bridge.contacts.models import Tier
from crm_bridge.kb.models import KbDecision
from crm_bridge.reports import topics
from crm_bridge.reports.filters import ReportFilter
from kefu_core.db import utcnow
from kefu_core.settings import Settings
from knowledge_base.models import UnansweredQuestion
from tests.crm_bridge.reports.voice_data import at, contact, conversation, new_tag
from tests.knowledge_base.fakes import HashEncoder

START, END = at("2031-06-01", 0), at("2031-06-08", 0)

# Rasa's tracker store schema (rasa/core/tracker_store.py, SQLTrackerStore.SQLEvent, Rasa 3.6).
_RASA = MetaData()
EVENTS = Table(
    "events",
    _RASA,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


def _settings(**values: str) -> Settings:
    return Settings(**values)  # type: ignore[arg-type]  # populate_by_name: field names work too


def seed(session: Session, tracker: Path) -> dict[str, Any]:
    """Three conversations of the test's contacts, their tracker events, KB decisions and inbox items."""
    tag = new_tag()
    ana, bo = contact(session, tag, "Ana"), contact(session, tag, "Bo", Tier.vip)
    c1 = conversation(session, ana, at("2031-06-02"))
    c2 = conversation(session, ana, at("2031-06-03"), channel="widget")
    c3 = conversation(session, bo, at("2031-06-04"), language="zh")
    inside, before = at("2031-06-05").timestamp(), at("2031-05-20").timestamp()
    rows = [
        (c1.id, "user", inside, "greet", None),
        (c1.id, "user", inside + 1, "ask_refund", None),
        (c1.id, "user", inside + 2, "ask_refund", None),
        (c1.id, "bot", inside + 3, None, None),
        (c1.id, "action", inside + 4, None, "action_answer_faq"),
        (c1.id, "user", inside + 5, None, None),  # no intent recorded
        (c2.id, "user", inside, "ask_refund", None),
        (c2.id, "user", inside + 1, "complain", None),
        (c2.id, "user", before, "greet", None),  # before the period
        (c3.id, "user", inside, "greet", None),
        (c3.id, "user", inside + 1, "ask_refund", None),
        ("rasa-shell-user", "user", inside, "greet", None),  # not one of kefu's conversations
        (c1.id, "user", END.timestamp(), "greet", None),  # the end is excluded
    ]
    engine = create_engine(f"sqlite:///{tracker}")
    _RASA.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(EVENTS),
            [
                {
                    "sender_id": s,
                    "type_name": t,
                    "timestamp": ts,
                    "intent_name": i,
                    "action_name": a,
                    "data": "{}",
                }
                for s, t, ts, i, a in rows
            ],
        )
    engine.dispose()
    when = at("2031-06-05")
    decisions = [
        (c1, "answer", "en-orders-01"),
        (c1, "answer", "en-orders-01"),
        (c1, "clarify", "en-orders-01"),
        (c1, "none", "en-orders-02"),  # a `none`'s best entry did not answer
        (c2, "answer", "gone-01"),  # an entry deleted since
        (c2, "none", None),
    ]
    for conv, decision, faq_id in decisions:
        session.add(
            KbDecision(
                conversation_id=conv.id, language="en", decision=decision, top_faq_id=faq_id, created_at=when
            )
        )
    session.add(
        KbDecision(conversation_id=c1.id, decision="answer", top_faq_id="en-orders-01", created_at=END)
    )
    for conv, text, resolved in (
        (c1, "do you sell gift cards", False),
        (c2, "do you sell gift cards", True),
        (c1, "opening hours on sunday", False),
    ):
        session.add(
            UnansweredQuestion(
                text=text, language="en", conversation_id=conv.id, created_at=when,
                resolved_at=utcnow() if resolved else None, resolution="dismissed" if resolved else None,
            )
        )  # fmt: skip
    session.add(UnansweredQuestion(text="do you sell gift cards", language="en", conversation_id=c1.id,
                                   created_at=at("2031-05-01")))  # fmt: skip
    session.commit()
    return {"tag": tag, "c1": c1.id, "c2": c2.id}


@pytest.fixture
def seeded(session: Session, tmp_path: Path) -> dict[str, Any]:
    tracker = tmp_path / "rasa_tracker.db"
    return {**seed(session, tracker), "settings": _settings(rasa_tracker_db=str(tracker))}


def _f(**segment: Any) -> ReportFilter:
    return ReportFilter(start=START, end=END, **segment)


def _counts(body: dict[str, Any]) -> dict[str, int]:
    assert body["available"] is True and body["reason"] is None
    counts = {i["intent"]: i["count"] for i in body["items"]}
    assert body["total"] == sum(counts.values())
    return counts


def test_intents_from_the_tracker_store(session: Session, seeded: dict[str, Any]) -> None:
    settings, tag = seeded["settings"], seeded["tag"]
    everything = topics.intents(session, _f(), settings)
    assert everything["items"][0] == {"intent": "ask_refund", "count": 4}
    assert _counts(everything) == {"ask_refund": 4, "greet": 3, "complain": 1}
    assert _counts(topics.intents(session, _f(tag=tag), settings)) == {
        "ask_refund": 4,
        "greet": 2,
        "complain": 1,
    }
    assert _counts(topics.intents(session, _f(tag=tag, channel="widget"), settings)) == {
        "ask_refund": 1,
        "complain": 1,
    }
    assert _counts(topics.intents(session, _f(tag=tag, tier="vip"), settings)) == {
        "greet": 1,
        "ask_refund": 1,
    }
    assert _counts(topics.intents(session, _f(tag=tag, language="zh"), settings)) == {
        "greet": 1,
        "ask_refund": 1,
    }
    assert topics.intents(session, _f(tag=new_tag()), settings)["total"] == 0


def test_intents_say_why_they_are_missing(session: Session, tmp_path: Path) -> None:
    cases = {
        "RASA_TRACKER_DB": _settings(rasa_tracker_db=""),
        "does not exist": _settings(rasa_tracker_db=str(tmp_path / "never.db")),
        "OperationalError": _settings(
            rasa_tracker_dialect="postgresql", rasa_tracker_host="127.0.0.1:1", rasa_tracker_db="rasa"
        ),
    }
    empty = tmp_path / "empty.db"
    create_engine(f"sqlite:///{empty}").connect().close()  # a file, but Rasa has made no table yet
    cases["no events table"] = _settings(rasa_tracker_db=str(empty))
    for reason, settings in cases.items():
        body = topics.intents(session, _f(), settings)
        assert body["available"] is False and reason in body["reason"], body
        assert body["items"] == [] and body["total"] == 0


def test_faq_entries_and_unanswered(session: Session, seeded: dict[str, Any]) -> None:
    tag = seeded["tag"]
    faq = topics.faq(session, _f(tag=tag))
    assert faq["decisions"] == {"answer": 3, "clarify": 1, "none": 2} and faq["total"] == 6
    assert faq["unanswered_rate"] == pytest.approx(2 / 6, abs=1e-4)
    assert [(e["faq_id"], e["answers"], e["clarifications"]) for e in faq["entries"]] == [
        ("en-orders-01", 2, 1),
        ("gone-01", 1, 0),
    ]
    assert faq["entries"][0]["question"] and faq["entries"][1]["question"] is None
    widget = topics.faq(session, _f(tag=tag, channel="widget"))
    assert widget["decisions"] == {"answer": 1, "clarify": 0, "none": 1}
    nothing = topics.faq(session, _f(tag=new_tag()))
    assert nothing["total"] == 0 and nothing["unanswered_rate"] is None and nothing["entries"] == []

    inbox = topics.unanswered_groups(session, _f(tag=tag), HashEncoder(), None)
    assert (inbox["total"], inbox["open"]) == (3, 2)
    assert [(g["topic"], g["count"], g["open"]) for g in inbox["groups"]] == [
        ("do you sell gift cards", 2, 1),
        ("opening hours on sunday", 1, 1),
    ]


def test_route_is_for_admins(
    admin_client: tuple[TestClient, int], agent_client: tuple[TestClient, int], seeded: dict[str, Any]
) -> None:
    admin, _ = admin_client
    query = {"from": "2031-06-01", "to": "2031-06-07", "tag": seeded["tag"]}
    response = admin.get("/api/v1/reports/topics", params=query)
    assert response.status_code == 200, response.text
    body = response.json()
    # This app was given no tracker store: the intents say so and the rest stands.
    assert body["intents"]["available"] is False and "RASA_TRACKER_DB" in body["intents"]["reason"]
    assert body["faq"]["decisions"] == {"answer": 3, "clarify": 1, "none": 2}
    assert body["unanswered"]["total"] == 3
    assert sum(g["count"] for g in body["unanswered"]["groups"]) == 3
    agent, _ = agent_client
    assert agent.get("/api/v1/reports/topics", params=query).status_code == 403
    bad = admin.get("/api/v1/reports/topics", params={"from": "2031-06-07", "to": "2031-06-01"})
    assert bad.status_code == 422 and bad.json()["error"]["details"]["field"] == "from"
