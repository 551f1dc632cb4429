"""Bad chat input is a 422 with a clear message, and nothing is stored."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_bridge.conversations.models import Message


def _count(session: Session) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(Message)) or 0)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"user_id": "v1", "text": ""}, "text must not be empty"),
        ({"user_id": "v1", "text": "   \n\t "}, "text must not be empty"),
        ({"user_id": "v1", "text": "x" * 4001}, "at most 4000 characters"),
        ({"text": "hello"}, "user_id"),
        ({"user_id": "  ", "text": "hello"}, "user_id must not be blank"),
        ({"user_id": "v1", "text": "hi", "channel": "fax"}, "channel"),
        ({"user_id": "v1", "text": "hi", "metadata": "nope"}, "metadata"),
    ],
)
def test_bad_input_is_422_and_stores_nothing(
    client: TestClient, session: Session, body: dict[str, object], fragment: str
) -> None:
    before = _count(session)
    response = client.post("/api/v1/chat", json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert fragment in error["message"]
    assert error["request_id"]
    assert _count(session) == before


def test_invalid_json_is_422(client: TestClient, session: Session) -> None:
    before = _count(session)
    response = client.post(
        "/api/v1/chat", content=b'{"user_id": "v1", "text": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
    assert _count(session) == before


def test_4000_characters_is_accepted(client: TestClient) -> None:
    response = client.post("/api/v1/chat", json={"user_id": "long-text", "text": "a" * 4000})
    assert response.status_code == 200
