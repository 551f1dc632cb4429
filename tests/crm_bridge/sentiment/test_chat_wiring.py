"""A chat turn stores the customer message's sentiment (by the queue worker, before the bot is asked)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.conversations.models import Message, MessageRole


def test_customer_message_labelled(client: TestClient, session: Session) -> None:
    body = client.post(
        "/api/v1/chat", json={"user_id": "s1", "text": "This is the worst service ever!!"}
    ).json()
    session.expire_all()
    stored = session.scalars(
        select(Message).where(
            Message.conversation_id == body["conversation_id"], Message.role == MessageRole.customer
        )
    ).one()
    assert stored.sentiment_label == "negative"
    assert stored.sentiment_score is not None and stored.sentiment_score < -0.3
