"""Each escalation test starts with nobody online and an empty queue (the database is shared per run)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from crm_bridge.conversations.models import Conversation, ConversationStatus
from crm_bridge.users.models import User
from tests.app_fixtures import SERVICE_TOKEN


@pytest.fixture(autouse=True)
def empty_floor(session: Session) -> Iterator[None]:
    """No agent online, nobody queued or with an agent."""
    session.execute(update(User).values(online=False))
    session.execute(
        update(Conversation)
        .where(Conversation.status.in_([ConversationStatus.queued, ConversationStatus.agent]))
        .values(status=ConversationStatus.resolved, queued_at=None)
    )
    session.commit()
    yield


@pytest.fixture
def service(client: TestClient) -> TestClient:
    """A client holding the service token (what the Rasa action server uses)."""
    api = TestClient(client.app)
    api.headers["Authorization"] = f"Bearer {SERVICE_TOKEN}"
    return api


def start_chat(client: TestClient, text: str = "hello there") -> str:
    """A new customer's conversation (the bot is the fake Rasa, which echoes)."""
    response = client.post("/api/v1/chat", json={"user_id": f"cust-{uuid.uuid4().hex[:10]}", "text": text})
    assert response.status_code == 200, response.text
    return str(response.json()["conversation_id"])
