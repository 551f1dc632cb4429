"""An agent whose console went quiet (closed laptop) takes no new chats; API-only agents are unaffected."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.conversations.models import Conversation, ConversationStatus
from crm_bridge.escalation import lifecycle, roster
from crm_bridge.users.models import Role, User
from kefu_core.db import utcnow
from tests.app_fixtures import logged_in
from tests.crm_bridge.escalation.conftest import start_chat


def _online_agent(client: TestClient, session: Session) -> tuple[TestClient, int]:
    agent, user_id = logged_in(client, session, Role.agent)
    assert agent.post("/api/v1/agent/status", json={"online": True}).status_code == 200
    return agent, user_id


def _seen(session: Session, user_id: int, seconds_ago: float | None) -> None:
    user = session.get(User, user_id)
    assert user is not None
    user.console_seen_at = None if seconds_ago is None else utcnow() - timedelta(seconds=seconds_ago)
    session.commit()


def test_opening_the_console_socket_marks_the_agent_present(client: TestClient, session: Session) -> None:
    agent, user_id = _online_agent(client, session)
    token = agent.headers["Authorization"].split()[1]
    with client.websocket_connect(f"/api/v1/agent/ws?token={token}") as ws:
        assert ws.receive_json()["type"] == "queue"
        ws.send_json({"type": "ping"})
        assert ws.receive_json()["type"] == "pong"
        # Going offline properly before closing: the delayed "gone away" check then has nothing to do.
        assert agent.post("/api/v1/agent/status", json={"online": False}).status_code == 200
    session.expire_all()
    seen = session.scalars(select(User.console_seen_at).where(User.id == user_id)).one()
    assert seen is not None and utcnow() - seen < timedelta(seconds=30)


def test_a_quiet_console_takes_no_new_chats(
    client: TestClient, session: Session, service: TestClient
) -> None:
    _, user_id = _online_agent(client, session)
    _seen(session, user_id, seconds_ago=600)  # the laptop closed ten minutes ago
    assert user_id not in {u.id for u in roster.eligible_agents(session, "en")}
    result = service.post(
        f"/api/v1/conversations/{start_chat(client)}/escalate", json={"reason": "customer_request"}
    ).json()
    assert result["outcome"] == "offline" and result["ticket_number"]

    _seen(session, user_id, seconds_ago=5)  # back: takes chats again
    assert user_id in {u.id for u in roster.eligible_agents(session, "en")}
    result = service.post(
        f"/api/v1/conversations/{start_chat(client)}/escalate", json={"reason": "customer_request"}
    ).json()
    assert result["outcome"] == "queued"


def test_queued_chats_are_released_when_the_only_console_goes_quiet(
    client: TestClient, session: Session, service: TestClient
) -> None:
    _, user_id = _online_agent(client, session)
    _seen(session, user_id, seconds_ago=1)
    conversation_id = start_chat(client)
    assert (
        service.post(
            f"/api/v1/conversations/{conversation_id}/escalate", json={"reason": "customer_request"}
        ).json()["outcome"]
        == "queued"
    )
    _seen(session, user_id, seconds_ago=600)
    assert lifecycle.release_unstaffed(session) == 1
    session.commit()
    conversation = session.get(Conversation, conversation_id)
    assert conversation is not None and conversation.status is ConversationStatus.bot


def test_an_api_only_agent_stays_present(client: TestClient, session: Session) -> None:
    _, user_id = _online_agent(client, session)
    _seen(session, user_id, seconds_ago=None)
    assert user_id in {u.id for u in roster.eligible_agents(session, "en")}
