"""Triggers crm_bridge evaluates itself on each customer message: keywords and negative sentiment."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from crm_bridge.conversations.models import Conversation, Message, MessageRole
from crm_bridge.escalation import triggers
from crm_bridge.escalation.models import Reason
from crm_bridge.users.models import Role
from tests.app_fixtures import logged_in
from tests.helpers import kefu_env


def test_keyword_escalates_before_the_bot_and_tells_the_customer(
    client: TestClient, session: Session
) -> None:
    agent, _ = logged_in(client, session, Role.agent)
    agent.post("/api/v1/agent/status", json={"online": True})
    user = f"kw-{uuid.uuid4().hex[:8]}"
    with kefu_env(KEFU_ESCALATION_KEYWORDS="lawyer, 投诉"):
        calm = client.post("/api/v1/chat", json={"user_id": user, "text": "where is my parcel"}).json()
        assert calm["status"] == "bot"
        angry = client.post("/api/v1/chat", json={"user_id": user, "text": "I will call my LAWYER"}).json()
    assert angry["status"] == "queued"
    assert [m["role"] for m in angry["messages"]] == ["system"]
    assert "number 1" in angry["messages"][0]["text"]
    queue = agent.get("/api/v1/agent/queue").json()["items"]
    assert any(i["conversation_id"] == angry["conversation_id"] and i["reason"] == "keyword" for i in queue)


def test_keyword_offline_makes_one_ticket_in_chinese(client: TestClient) -> None:
    user = f"kw-{uuid.uuid4().hex[:8]}"
    with kefu_env(KEFU_ESCALATION_KEYWORDS="投诉"):
        first = client.post("/api/v1/chat", json={"user_id": user, "text": "我要投诉你们的快递"}).json()
        second = client.post("/api/v1/chat", json={"user_id": user, "text": "我还是要投诉"}).json()
    assert first["status"] == "bot" and "工单" in first["messages"][0]["text"]
    # The open ticket is not duplicated: the second message goes to the bot (the fake Rasa echoes).
    assert "工单" not in second["messages"][0]["text"]


def _customer(
    session: Session, conversation: Conversation, label: str | None, score: float | None
) -> Message:
    message = Message(
        conversation_id=conversation.id,
        role=MessageRole.customer,
        text="...",
        channel="api",
        sentiment_label=label,
        sentiment_score=score,
    )
    session.add(message)
    session.flush()
    return message


def test_sentiment_rules(client: TestClient, session: Session) -> None:
    cid = client.post("/api/v1/chat", json={"user_id": f"s-{uuid.uuid4().hex[:8]}", "text": "hi"}).json()[
        "conversation_id"
    ]
    conversation = session.get(Conversation, cid)
    assert conversation is not None
    mild = _customer(session, conversation, "negative", -0.4)
    assert triggers.automatic_trigger(session, conversation, mild) is None  # one mildly negative message
    again = _customer(session, conversation, "negative", -0.3)
    assert (
        triggers.automatic_trigger(session, conversation, again) is Reason.negative_sentiment
    )  # two in a row
    happy = _customer(session, conversation, "positive", 0.8)
    assert triggers.automatic_trigger(session, conversation, happy) is None
    furious = _customer(session, conversation, "negative", -0.9)
    assert (
        triggers.automatic_trigger(session, conversation, furious) is Reason.negative_sentiment
    )  # very negative
    session.rollback()
