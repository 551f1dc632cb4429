"""Queue places per language and the wait estimate (position x handle time / the language's agents)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from crm_bridge.conversations.models import Conversation
from crm_bridge.escalation import queue
from crm_bridge.users.models import Role, User
from tests.app_fixtures import logged_in
from tests.crm_bridge.escalation.conftest import start_chat
from tests.helpers import kefu_env


def _online(client: TestClient, session: Session, languages: list[str]) -> None:
    agent, user_id = logged_in(client, session, Role.agent)
    user = session.get(User, user_id)
    assert user is not None
    user.languages = languages
    session.commit()
    assert agent.post("/api/v1/agent/status", json={"online": True}).status_code == 200


def test_places_and_waits_per_language(client: TestClient, session: Session, service: TestClient) -> None:
    _online(client, session, ["en"])
    _online(client, session, ["en", "zh"])
    chats = [start_chat(client, "I need a person"), start_chat(client, "我要找人工客服")]
    chats.append(start_chat(client, "a human please"))
    for cid in chats:
        body = service.post(
            f"/api/v1/conversations/{cid}/escalate", json={"reason": "customer_request"}
        ).json()
        assert body["outcome"] == "queued", body
    en_first, zh_first, en_second = (session.get(Conversation, cid) for cid in chats)
    assert en_first and zh_first and en_second
    with kefu_env(KEFU_AVG_HANDLE_SECONDS="120"):
        # Two agents take English, one Chinese.
        assert queue.position_and_wait(session, en_first) == (1, 60)
        assert queue.position_and_wait(session, en_second) == (2, 120)
        assert queue.position_and_wait(session, zh_first) == (1, 120)
    items = queue.queue_items(session)
    assert [(i["conversation_id"], i["language"], i["position"]) for i in items] == [
        (chats[0], "en", 1),
        (chats[1], "zh", 1),
        (chats[2], "en", 2),
    ]
    assert all(i["reason"] == "customer_request" and i["waiting_seconds"] >= 0 for i in items)


def test_a_conversation_not_in_the_queue_has_no_place(client: TestClient, session: Session) -> None:
    conversation = session.get(Conversation, start_chat(client))
    assert conversation is not None
    assert queue.position_and_wait(session, conversation) == (None, None)
