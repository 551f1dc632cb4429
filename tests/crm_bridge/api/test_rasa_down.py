"""When Rasa is down the customer's message is still stored and the reply says so."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.conversations.models import Message, MessageRole


def _messages(session: Session, conversation_id: str) -> list[Message]:
    session.expire_all()
    stmt = select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
    return list(session.scalars(stmt))


def test_message_stored_and_unavailable_reply(client: TestClient, session: Session) -> None:
    response = client.post("/api/v1/chat", json={"user_id": "down-en", "text": "Where is my parcel?"})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "bot"
    assert [m["role"] for m in body["messages"]] == ["system"]
    assert "temporarily unavailable" in body["messages"][0]["text"]
    stored = _messages(session, body["conversation_id"])
    assert (stored[0].role, stored[0].text) == (MessageRole.customer, "Where is my parcel?")
    assert stored[1].role is MessageRole.system
    assert stored[1].id == body["messages"][0]["id"]


def test_unavailable_reply_in_chinese(client: TestClient) -> None:
    body = client.post("/api/v1/chat", json={"user_id": "down-zh", "text": "我的快递到哪了"}).json()
    assert "暂时无法使用" in body["messages"][0]["text"]


def test_same_user_same_conversation(client: TestClient) -> None:
    first = client.post("/api/v1/chat", json={"user_id": "same", "text": "hello"}).json()
    second = client.post("/api/v1/chat", json={"user_id": "same", "text": "hello again"}).json()
    other = client.post("/api/v1/chat", json={"user_id": "other", "text": "hello"}).json()
    assert first["conversation_id"] == second["conversation_id"]
    assert other["conversation_id"] != first["conversation_id"]


def test_health_names_the_failing_parts(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert set(body["failing"]) == {"rasa", "action_server"}
    assert body["parts"]["database"]["ok"] is True
    assert body["parts"]["knowledge_base"]["entries"] >= 80
