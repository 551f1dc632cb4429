"""When Rasa is down the customer's message is still stored, the reply says so and people are flagged."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.conversations.models import Message, MessageRole
from crm_bridge.escalation.models import Escalation, Reason


def _messages(session: Session, conversation_id: str) -> list[Message]:
    session.expire_all()
    stmt = select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
    return list(session.scalars(stmt))


def test_message_stored_and_unavailable_reply(down_client: TestClient, session: Session) -> None:
    response = down_client.post("/api/v1/chat", json={"user_id": "down-en", "text": "Where is my parcel?"})
    assert response.status_code == 200
    body = response.json()
    assert body["pending"] is False
    # Told the assistant is unavailable, then handed to people (no agent is on: a ticket is promised).
    assert [m["role"] for m in body["messages"]] == ["system", "system"]
    assert "temporarily unavailable" in body["messages"][0]["text"]
    stored = _messages(session, body["conversation_id"])
    assert (stored[0].role, stored[0].text) == (MessageRole.customer, "Where is my parcel?")
    assert [m.id for m in stored[1:]] == [m["id"] for m in body["messages"]]
    assert all(m.reply_to_id == stored[0].id for m in stored[1:])
    escalations = session.scalars(
        select(Escalation).where(Escalation.conversation_id == body["conversation_id"])
    )
    assert [e.reason for e in escalations] == [Reason.fallback]


def test_unavailable_reply_in_chinese(down_client: TestClient) -> None:
    body = down_client.post("/api/v1/chat", json={"user_id": "down-zh", "text": "我的快递到哪了"}).json()
    assert "暂时无法使用" in body["messages"][0]["text"]


def test_same_user_same_conversation(down_client: TestClient) -> None:
    first = down_client.post("/api/v1/chat", json={"user_id": "same", "text": "hello"}).json()
    second = down_client.post("/api/v1/chat", json={"user_id": "same", "text": "hello again"}).json()
    other = down_client.post("/api/v1/chat", json={"user_id": "other", "text": "hello"}).json()
    assert first["conversation_id"] == second["conversation_id"]
    assert other["conversation_id"] != first["conversation_id"]


def test_health_names_the_failing_parts(down_client: TestClient) -> None:
    response = down_client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert set(body["failing"]) == {"rasa", "action_server"}
    assert body["parts"]["database"]["ok"] is True
    assert body["parts"]["knowledge_base"]["entries"] >= 80
