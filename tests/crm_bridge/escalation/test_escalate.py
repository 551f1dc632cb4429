"""POST /api/v1/conversations/{id}/escalate: queued, offline -> ticket with transcript, declined, errors."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from crm_bridge.contacts.models import Tier
from crm_bridge.conversations.models import Conversation
from tests.crm_bridge.escalation.conftest import start_chat
from tests.helpers import kefu_env


def go_online(api: TestClient) -> None:
    assert api.post("/api/v1/agent/status", json={"online": True}).status_code == 200


def test_offline_creates_a_ticket_with_the_transcript(client: TestClient, service: TestClient) -> None:
    cid = start_chat(client, "my parcel <b>never</b> arrived")
    response = service.post(f"/api/v1/conversations/{cid}/escalate", json={"reason": "customer_request"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["outcome"] == "offline" and body["escalated"] is False and body["status"] == "bot"
    assert body["ticket_number"].startswith("T-")
    assert datetime.fromisoformat(body["expected_reply_by"]) > datetime.fromisoformat(
        "2026-01-01T00:00:00+00:00"
    )
    assert body["queue_position"] is None
    ticket = service.get(f"/api/v1/tickets/{body['ticket_number']}")
    assert ticket.status_code == 200
    assert "customer: my parcel <b>never</b> arrived" in ticket.json()["description"]
    assert ticket.json()["conversation_id"] == cid
    # Asking again while that ticket is open reuses it.
    again = service.post(f"/api/v1/conversations/{cid}/escalate", json={"reason": "fallback"}).json()
    assert again["ticket_number"] == body["ticket_number"]


def test_queued_when_an_agent_speaking_the_language_is_online(
    client: TestClient, service: TestClient, agent_client: tuple[TestClient, int]
) -> None:
    agent, _ = agent_client
    assert agent.post("/api/v1/agent/status", json={"online": True}).status_code == 200
    first = start_chat(client, "I want to talk to a person")
    second = start_chat(client, "me too, a human please")
    one = service.post(f"/api/v1/conversations/{first}/escalate", json={"reason": "customer_request"}).json()
    two = service.post(
        f"/api/v1/conversations/{second}/escalate", json={"reason": "complaint", "note": "x"}
    ).json()
    assert (one["outcome"], one["status"], one["queue_position"], one["escalated"]) == (
        "queued",
        "queued",
        1,
        True,
    )
    assert (two["outcome"], two["queue_position"]) == ("queued", 2)
    assert two["estimated_wait_seconds"] > one["estimated_wait_seconds"] > 0
    assert one["ticket_number"] is None
    # Idempotent: escalating a queued conversation again keeps its place.
    assert (
        service.post(f"/api/v1/conversations/{first}/escalate", json={"reason": "fallback"}).json()[
            "queue_position"
        ]
        == 1
    )


def test_language_matters(client: TestClient, service: TestClient, session: Session) -> None:
    from crm_bridge.users.models import Role, User
    from tests.app_fixtures import logged_in

    agent, agent_id = logged_in(client, session, Role.agent)
    user = session.get(User, agent_id)
    assert user is not None
    user.languages = ["en"]
    session.commit()
    agent.post("/api/v1/agent/status", json={"online": True})
    chinese = start_chat(client, "我要找人工客服")
    english = start_chat(client, "I need a person")
    zh = service.post(f"/api/v1/conversations/{chinese}/escalate", json={"reason": "customer_request"}).json()
    en = service.post(f"/api/v1/conversations/{english}/escalate", json={"reason": "customer_request"}).json()
    assert zh["outcome"] == "offline" and en["outcome"] == "queued"


def test_ticket_status_only_for_vip(
    client: TestClient, service: TestClient, session: Session, agent_client: tuple[TestClient, int]
) -> None:
    agent, _ = agent_client
    agent.post("/api/v1/agent/status", json={"online": True})
    cid = start_chat(client, "where is my ticket T-000001")
    declined = service.post(f"/api/v1/conversations/{cid}/escalate", json={"reason": "ticket_status"}).json()
    assert (declined["outcome"], declined["escalated"], declined["status"]) == ("declined", False, "bot")
    conversation = session.get(Conversation, cid)
    assert conversation is not None
    from crm_bridge.contacts.models import Contact

    contact = session.get(Contact, conversation.contact_id)
    assert contact is not None
    contact.tier = Tier.vip
    session.commit()
    vip = service.post(f"/api/v1/conversations/{cid}/escalate", json={"reason": "ticket_status"}).json()
    assert (vip["outcome"], vip["status"]) == ("queued", "queued")


def test_outside_business_hours_is_offline(
    client: TestClient, service: TestClient, agent_client: tuple[TestClient, int]
) -> None:
    agent, _ = agent_client
    agent.post("/api/v1/agent/status", json={"online": True})
    cid = start_chat(client, "a person please")
    # A window that is never open now: the one hour that ended an hour ago, every day.
    from datetime import UTC, timedelta

    now = datetime.now(UTC)
    start = (now - timedelta(hours=2)).strftime("%H:00")
    end = (now - timedelta(hours=1)).strftime("%H:00")
    if end <= start:  # around midnight: pick a window that cannot contain now
        start, end = ("12:00", "13:00") if now.hour not in (12,) else ("03:00", "04:00")
    with kefu_env(KEFU_BUSINESS_HOURS=f"Mon-Sun {start}-{end}", KEFU_TIMEZONE="UTC"):
        body = service.post(
            f"/api/v1/conversations/{cid}/escalate", json={"reason": "customer_request"}
        ).json()
    assert body["outcome"] == "offline" and body["ticket_number"]
    reply_by = datetime.fromisoformat(body["expected_reply_by"])
    assert reply_by > now


def test_errors(client: TestClient, service: TestClient) -> None:
    assert service.post("/api/v1/conversations/nope/escalate", json={"reason": "fallback"}).status_code == 404
    cid = start_chat(client)
    bad = service.post(f"/api/v1/conversations/{cid}/escalate", json={"reason": "bored"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"
    anonymous = TestClient(client.app).post(
        f"/api/v1/conversations/{cid}/escalate", json={"reason": "fallback"}
    )
    assert anonymous.status_code == 401


def closed_now() -> str:
    """A business-hours setting whose only window is not now."""
    from datetime import UTC, timedelta

    now = datetime.now(UTC)
    start, end = (now + timedelta(hours=2)).strftime("%H:00"), (now + timedelta(hours=3)).strftime("%H:00")
    if end <= start:
        start, end = ("12:00", "13:00") if now.hour not in (11, 12) else ("03:00", "04:00")
    return f"Mon-Sun {start}-{end}"


def test_queued_customer_writing_after_hours_gets_a_ticket(
    client: TestClient, service: TestClient, agent_client: tuple[TestClient, int]
) -> None:
    agent, _ = agent_client
    agent.post("/api/v1/agent/status", json={"online": True})
    user = f"late-{datetime.now().timestamp()}"
    cid = client.post("/api/v1/chat", json={"user_id": user, "text": "I need a human"}).json()[
        "conversation_id"
    ]
    assert (
        service.post(f"/api/v1/conversations/{cid}/escalate", json={"reason": "complaint"}).json()["outcome"]
        == "queued"
    )
    with kefu_env(KEFU_BUSINESS_HOURS=closed_now(), KEFU_TIMEZONE="Asia/Shanghai"):
        late = client.post("/api/v1/chat", json={"user_id": user, "text": "still there?"}).json()
        assert agent.get("/api/v1/agent/queue").json()["items"] == []
    assert late["status"] == "bot"
    assert [m["role"] for m in late["messages"]] == ["system"] and "ticket T-" in late["messages"][0]["text"]
    assert "CST" in late["messages"][0]["text"]  # the reply-by time in the configured zone
