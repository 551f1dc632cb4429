"""POST /api/v1/sentiment: who may call it, what it answers, and every bad input's clear error."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.conversations.models import Message, MessageRole
from tests.app_fixtures import SERVICE_TOKEN


def test_needs_a_role(client: TestClient) -> None:
    response = client.post("/api/v1/sentiment", json={"text": "thanks"})
    assert response.status_code == 401
    assert response.json()["error"]["code"]


@pytest.mark.parametrize(
    ("text", "language", "label"),
    [
        ("The parcel came broken and nobody answers my emails!", None, "negative"),
        ("Thank you so much, the new one arrived and works perfectly", "en", "positive"),
        ("快递员态度太差了，气死我了", None, "negative"),
        ("客服很耐心，问题解决了，谢谢", "zh", "positive"),
    ],
)
def test_analysis(agent_client: tuple[TestClient, int], text: str, language: str | None, label: str) -> None:
    api, _ = agent_client
    body = {"text": text} | ({"language": language} if language else {})
    response = api.post("/api/v1/sentiment", json=body)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["label"] == label
    assert -1 <= result["score"] <= 1 and 0 <= result["confidence"] <= 1
    assert (result["score"] < 0) == (label == "negative")
    assert result["language"] == (
        language or ("zh" if any("\u4e00" <= c <= "\u9fff" for c in text) else "en")
    )


def test_the_service_token_may_call_it(client: TestClient) -> None:
    response = client.post(
        "/api/v1/sentiment", json={"text": "ok"}, headers={"Authorization": f"Bearer {SERVICE_TOKEN}"}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "body",
    [{"text": ""}, {"text": "   \n"}, {"text": "hi", "language": "fr"}, {}, {"text": "x" * 20_001}],
)
def test_bad_input_is_a_422(agent_client: tuple[TestClient, int], body: dict[str, object]) -> None:
    api, _ = agent_client
    response = api.post("/api/v1/sentiment", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["message"]


@pytest.mark.parametrize(
    "text", ["😡😡😡", "👍", "slow " * 2_000, "这个 order 太慢了 seriously", "!!!???", "12345"]
)
def test_odd_input_gets_a_valid_answer(agent_client: tuple[TestClient, int], text: str) -> None:
    api, _ = agent_client
    response = api.post("/api/v1/sentiment", json={"text": text})
    assert response.status_code == 200, response.text
    assert response.json()["label"] in {"negative", "neutral", "positive"}


def test_a_button_payload_is_not_labelled(client: TestClient, session: Session) -> None:
    body = client.post("/api/v1/chat", json={"user_id": "payload-1", "text": "/deny"}).json()
    session.expire_all()
    stored = session.scalars(
        select(Message).where(
            Message.conversation_id == body["conversation_id"], Message.role == MessageRole.customer
        )
    ).one()
    assert stored.sentiment_label is None and stored.sentiment_score is None
