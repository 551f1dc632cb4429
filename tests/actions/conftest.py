"""Actions against the real crm_bridge app (in-process, real SQLite / PostgreSQL) through CrmBridgeClient."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any, cast

import httpx
import pytest
from fastapi.testclient import TestClient
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.clients import CrmBridgeClient, use_client
from kefu_core.signing import with_signature
from tests.app_fixtures import SERVICE_TOKEN


@pytest.fixture(autouse=True)
def _action_server_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The action server's environment: the service token it shares with crm_bridge (it verifies ids)."""
    monkeypatch.setenv("KEFU_SERVICE_TOKEN", SERVICE_TOKEN)


@pytest.fixture
def service(client: TestClient) -> TestClient:
    """The app, called with the service token (as the action server does)."""
    return TestClient(client.app, headers={"Authorization": f"Bearer {SERVICE_TOKEN}"})


@pytest.fixture
def staff(admin_client: tuple[TestClient, int]) -> TestClient:
    """An admin's client: for reading what the service token may not (conversations, feedback lists)."""
    return admin_client[0]


@pytest.fixture
def crm(service: TestClient) -> Iterator[CrmBridgeClient]:
    """The actions' crm_bridge client, bound to the in-process app for the test."""
    bridge = CrmBridgeClient(http=cast(httpx.Client, service))  # same request API as httpx
    use_client(bridge)
    try:
        yield bridge
    finally:
        use_client(None)


@pytest.fixture
def chat(client: TestClient, staff: TestClient) -> dict[str, Any]:
    """A real conversation and contact, made by a customer message (Rasa is down here: it is just stored)."""
    response = client.post("/api/v1/chat", json={"user_id": f"act-{uuid.uuid4().hex[:10]}", "text": "hello"})
    assert response.status_code == 200, response.text
    conversation_id = response.json()["conversation_id"]
    conversation = staff.get(f"/api/v1/conversations/{conversation_id}").json()
    return {"conversation_id": conversation_id, "contact_id": conversation["contact_id"]}


def tracker(
    text: str = "",
    intent: str = "",
    *,
    slots: dict[str, Any] | None = None,
    entities: list[dict[str, Any]] | None = None,
    events: list[dict[str, Any]] | None = None,
    after: list[dict[str, Any]] | None = None,
    chat: dict[str, Any] | None = None,
    language: str = "en",
    sender: str = "tester",
) -> Tracker:
    """A tracker built from a dict, as Rasa sends it to actions (`after`: events since the message)."""
    metadata: dict[str, Any] = {"language": language}
    all_slots: dict[str, Any] = {"language": language}
    if chat:
        metadata |= {"conversation_id": chat["conversation_id"], "contact_id": chat["contact_id"]}
        all_slots |= {"conversation_id": chat["conversation_id"], "contact_id": str(chat["contact_id"])}
    all_slots |= slots or {}
    metadata = with_signature(SERVICE_TOKEN, sender, metadata)  # as crm_bridge's RasaClient signs them
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.9},
        "entities": entities or [],
        "metadata": metadata,
        "message_id": uuid.uuid4().hex,
    }
    user = {"event": "user", "text": text, "parse_data": latest, "metadata": metadata}
    history = [*(events or []), user, *(after or [])]
    return Tracker.from_dict(
        {
            "sender_id": sender,
            "slots": all_slots,
            "latest_message": latest,
            "events": history,
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        }
    )


def responses(dispatcher: CollectingDispatcher) -> list[str | None]:
    """The response names the action asked for (None for plain text)."""
    return [m.get("response") for m in dispatcher.messages]


def slots_set(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Final value of each slot the action set."""
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
