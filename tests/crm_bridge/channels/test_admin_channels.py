"""GET /api/v1/channels for admins (configured or not, the webhook URL, counted events, never a secret),
the delivery state in the agent's packet and GET .../deliveries, and the attempts of dead jobs."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from crm_bridge.channels.models import Delivery, DeliveryStatus
from crm_bridge.contacts import service as contacts
from crm_bridge.conversations import service as conversations
from crm_bridge.conversations.models import ConversationStatus, MessageRole
from crm_bridge.jobs import service as jobs
from tests.helpers import kefu_env

# Known values, so the test can assert that none of them is ever shown back.
SECRETS = {
    "KEFU_TELEGRAM_BOT_TOKEN": "424242:SECRET-telegram-token-do-not-show",
    "KEFU_TELEGRAM_WEBHOOK_SECRET": "secret-webhook-value-do-not-show",
    "KEFU_SLACK_SIGNING_SECRET": "slack-signing-secret-do-not-show",
}


def _channels(client: TestClient) -> dict[str, dict[str, Any]]:
    response = client.get("/api/v1/channels")
    assert response.status_code == 200, response.text
    return {item["name"]: item for item in response.json()["items"]}


def wait_for(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_an_agent_may_not_see_channels(agent_client: tuple[TestClient, int]) -> None:
    client, _ = agent_client
    assert client.get("/api/v1/channels").status_code == 403


def test_an_admin_sees_each_channel_and_never_a_secret(admin_client: tuple[TestClient, int]) -> None:
    client, _ = admin_client
    with kefu_env(**SECRETS, KEFU_SLACK_BOT_TOKEN=""):
        response = client.get("/api/v1/channels")
        page = client.get("/admin/channels")
    assert response.status_code == 200
    for value in SECRETS.values():
        assert value not in response.text
        assert value not in page.text
    listed = {item["name"]: item for item in response.json()["items"]}
    telegram, slack = listed["telegram"], listed["slack"]
    assert telegram["configured"] is True and telegram["label"] == "Telegram"
    assert telegram["webhook_url"] == "http://testserver/webhooks/telegram"
    assert telegram["settings"] == [
        {"name": "KEFU_TELEGRAM_BOT_TOKEN", "set": True, "optional": False},
        {"name": "KEFU_TELEGRAM_WEBHOOK_SECRET", "set": True, "optional": False},
        {"name": "KEFU_TELEGRAM_API_URL", "set": True, "optional": True},
    ]
    # The signing secret alone does not configure Slack; the page names what is missing.
    assert slack["configured"] is False
    assert slack["webhook_url"] == "http://testserver/webhooks/slack/events"
    assert {s["name"]: s["set"] for s in slack["settings"]} == {
        "KEFU_SLACK_BOT_TOKEN": False,
        "KEFU_SLACK_SIGNING_SECRET": True,
        "KEFU_SLACK_API_URL": True,
    }
    assert set(telegram) >= {
        "last_inbound_at",
        "last_outbound_at",
        "verification_failures",
        "malformed",
        "ignored",
        "queued_deliveries",
        "dead_deliveries",
        "last_error",
        "last_error_at",
    }


def test_the_webhook_url_follows_the_address_kefu_is_reached_at(admin_client: tuple[TestClient, int]) -> None:
    client, _ = admin_client
    other = TestClient(client.app, base_url="https://kefu.example.com")
    other.headers.update(client.headers)
    assert other.get("/api/v1/channels").json()["items"][0]["webhook_url"] == (
        "https://kefu.example.com/webhooks/telegram"
    )


def test_a_bad_signature_is_counted_and_shown_as_the_last_error(admin_client: tuple[TestClient, int]) -> None:
    client, _ = admin_client
    with kefu_env(**SECRETS):
        before = _channels(client)["telegram"]["verification_failures"]
        wrong = {"X-Telegram-Bot-Api-Secret-Token": "not-the-secret"}
        update = {"update_id": 1, "message": {"message_id": 1, "chat": {"id": 1, "type": "private"}}}
        assert client.post("/webhooks/telegram", json=update, headers=wrong).status_code == 401
        after = _channels(client)["telegram"]
    assert after["verification_failures"] == before + 1
    assert after["last_error"] and after["last_error"].startswith("verification failed")
    assert after["last_error_at"]
    assert "not-the-secret" not in str(after)


def _telegram_chat(session: Session, agent_id: int) -> str:
    """A Telegram conversation taken by the agent: the customer's message and the agent's reply."""
    chat_id = str(uuid.uuid4().int % 10**9)
    contact = contacts.resolve_identity(session, channel="telegram", external_id=chat_id, language="en")
    session.flush()
    conversation = conversations.open_conversation(
        session, contact_id=contact.id, channel="telegram", language="en"
    )
    conversation.status, conversation.assignee_id = ConversationStatus.agent, agent_id
    for role, text in ((MessageRole.customer, "where is my parcel?"), (MessageRole.agent, "Let me check.")):
        conversations.add_message(
            session, conversation=conversation, role=role, text=text, language="en", author_id=None
        )
    session.commit()
    return conversation.id


def test_the_packet_and_deliveries_show_why_a_message_did_not_reach_the_customer(
    agent_client: tuple[TestClient, int], admin_client: tuple[TestClient, int], session: Session
) -> None:
    client, agent_id = agent_client
    conversation_id = _telegram_chat(session, agent_id)
    delivery = session.query(Delivery).filter(Delivery.conversation_id == conversation_id).one()

    def failed() -> bool:
        session.refresh(delivery)
        return delivery.status is DeliveryStatus.failed

    # Telegram is not configured in this app: the delivery job fails it for good, with that reason.
    wait_for(failed)
    packet = client.get(f"/api/v1/agent/conversations/{conversation_id}/packet").json()
    by_role = {m["role"]: m for m in packet["transcript"]}
    reason = "the telegram channel is not configured"
    assert by_role["agent"]["delivery"] == {"status": "failed", "error": reason}
    assert by_role["customer"]["delivery"] is None
    answer = client.get(f"/api/v1/agent/conversations/{conversation_id}/deliveries").json()
    assert answer["deliveries"] == {str(by_role["agent"]["id"]): {"status": "failed", "error": reason}}
    admin, _ = admin_client
    telegram = _channels(admin)["telegram"]
    assert telegram["dead_deliveries"] >= 1 and telegram["last_inbound_at"] is not None


def test_an_agent_sees_no_deliveries_of_someone_elses_chat(
    agent_client: tuple[TestClient, int], admin_client: tuple[TestClient, int], session: Session
) -> None:
    _, admin_id = admin_client
    conversation_id = _telegram_chat(session, admin_id)
    client, _ = agent_client
    assert client.get(f"/api/v1/agent/conversations/{conversation_id}/deliveries").status_code == 403


def test_a_rest_conversation_has_no_delivery(
    admin_client: tuple[TestClient, int], client: TestClient, session: Session
) -> None:
    admin, admin_id = admin_client
    user_id = f"rest-{uuid.uuid4().hex[:8]}"
    conversation_id = client.post("/api/v1/chat", json={"user_id": user_id, "text": "hi"}).json()[
        "conversation_id"
    ]
    conversation = conversations.get_plain_or_raise(session, conversation_id)
    conversation.status, conversation.assignee_id = ConversationStatus.agent, admin_id
    session.commit()
    sent = admin.post(f"/api/v1/agent/conversations/{conversation_id}/messages", json={"text": "Hello"})
    assert sent.status_code == 201 and sent.json()["delivery"] is None
    packet = admin.get(f"/api/v1/agent/conversations/{conversation_id}/packet").json()
    assert packet["transcript"] and all(m["delivery"] is None for m in packet["transcript"])
    assert admin.get(f"/api/v1/agent/conversations/{conversation_id}/deliveries").json()["deliveries"] == {}


def test_dead_jobs_say_how_many_attempts_they_had(
    admin_client: tuple[TestClient, int], session: Session
) -> None:
    client, _ = admin_client
    known = jobs.record_dead(
        session, task="turns.process", job_id=uuid.uuid4().hex, args=["nope"], kwargs={}, error="E: x"
    )
    gone = jobs.record_dead(
        session, task="tests.gone", job_id=uuid.uuid4().hex, args=[], kwargs={}, error="E"
    )
    session.commit()
    try:
        items = {i["id"]: i for i in client.get("/api/v1/jobs/dead", params={"limit": 500}).json()["items"]}
        assert items[known.id]["attempts"] == 4  # turns.process: the first run and 3 retries
        assert items[gone.id]["attempts"] is None
    finally:  # other tests replay every dead job: these two must not be among them
        session.delete(known)
        session.delete(gone)
        session.commit()
