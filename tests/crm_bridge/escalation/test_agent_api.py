"""Agent REST API: accept, reply both ways over REST, internal notes, resolve, hand back, 403 for someone
else's chat, packet, canned replies, load, and the REST channel's messages route and channel key."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from crm_bridge.users.models import Role
from kefu_core.settings import get_settings
from tests.app_fixtures import logged_in
from tests.crm_bridge.escalation.conftest import start_chat
from tests.helpers import kefu_env


def queued_chat(client: TestClient, service: TestClient, text: str = "I want a human") -> tuple[str, str]:
    user_id = f"cust-{uuid.uuid4().hex[:10]}"
    cid = client.post("/api/v1/chat", json={"user_id": user_id, "text": text}).json()["conversation_id"]
    body = service.post(f"/api/v1/conversations/{cid}/escalate", json={"reason": "customer_request"}).json()
    assert body["outcome"] == "queued", body
    return cid, user_id


def test_whole_story_over_rest(client: TestClient, service: TestClient, session: Session) -> None:
    agent, agent_id = logged_in(client, session, Role.agent)
    assert agent.post("/api/v1/agent/status", json={"online": True}).json()["online"] is True
    cid, user_id = queued_chat(client, service)
    queue = agent.get("/api/v1/agent/queue").json()["items"]
    assert [i["conversation_id"] for i in queue] == [cid]
    assert queue[0]["reason"] == "customer_request" and queue[0]["position"] == 1

    accepted = agent.post(f"/api/v1/agent/conversations/{cid}/accept")
    assert accepted.status_code == 200 and accepted.json()["status"] == "agent"
    assert accepted.json()["assignee_id"] == agent_id
    # The customer's messages now go to the agent only: no bot reply, status agent.
    said = client.post(
        "/api/v1/chat", json={"user_id": user_id, "text": "<script>alert(1)</script> hi"}
    ).json()
    assert said["status"] == "agent" and said["messages"] == []
    reply = agent.post(f"/api/v1/agent/conversations/{cid}/messages", json={"text": "Hello <b>there</b>"})
    assert reply.status_code == 201 and reply.json()["role"] == "agent"
    note = agent.post(f"/api/v1/agent/conversations/{cid}/messages", json={"text": "VIP?", "internal": True})
    assert note.json()["internal"] is True

    seen = client.get(
        f"/api/v1/chat/{cid}/messages", params={"user_id": user_id, "after": said["customer_message_id"] - 1}
    )
    texts = [(m["role"], m["text"]) for m in seen.json()["messages"]]
    assert ("customer", "<script>alert(1)</script> hi") in texts  # stored and returned as text
    assert ("agent", "Hello <b>there</b>") in texts
    assert all(t != "VIP?" for _, t in texts)  # internal notes never reach the customer
    assert texts[0][0] == "customer"  # `after` skipped what came before
    everything = client.get(f"/api/v1/chat/{cid}/messages", params={"user_id": user_id}).json()["messages"]
    assert any("joined" in m["text"] for m in everything if m["role"] == "system")

    packet = agent.get(f"/api/v1/agent/conversations/{cid}/packet").json()
    assert packet["summary"]["reason"] == "customer_request"
    assert [m["text"] for m in packet["transcript"] if m["internal"]] == ["VIP?"]
    assert packet["contact"]["id"] and packet["conversation"]["id"] == cid
    assert set(packet) >= {"sentiment", "open_tickets", "past_conversations"}

    resolved = agent.post(f"/api/v1/agent/conversations/{cid}/resolve")
    assert resolved.json()["status"] == "resolved"
    after = client.get(f"/api/v1/chat/{cid}/messages", params={"user_id": user_id}).json()
    assert after["status"] == "resolved"


def test_someone_elses_chat_is_403_unless_admin(
    client: TestClient, service: TestClient, session: Session
) -> None:
    first, _ = logged_in(client, session, Role.agent)
    second, _ = logged_in(client, session, Role.agent)
    admin, _ = logged_in(client, session, Role.admin)
    first.post("/api/v1/agent/status", json={"online": True})
    cid, _ = queued_chat(client, service)
    assert first.post(f"/api/v1/agent/conversations/{cid}/accept").status_code == 200
    for path, body in (
        ("accept", None),
        ("messages", {"text": "mine now"}),
        ("resolve", None),
        ("handback", None),
    ):
        response = second.post(f"/api/v1/agent/conversations/{cid}/{path}", json=body)
        assert response.status_code == 403, (path, response.text)
        assert response.json()["error"]["code"] == "forbidden"
    assert second.get(f"/api/v1/agent/conversations/{cid}/packet").status_code == 403
    assert (
        admin.post(f"/api/v1/agent/conversations/{cid}/messages", json={"text": "admin here"}).status_code
        == 201
    )
    assert admin.post(f"/api/v1/agent/conversations/{cid}/resolve").json()["status"] == "resolved"


def test_hand_back_to_the_bot(client: TestClient, service: TestClient, session: Session) -> None:
    agent, _ = logged_in(client, session, Role.agent)
    agent.post("/api/v1/agent/status", json={"online": True})
    cid, user_id = queued_chat(client, service)
    agent.post(f"/api/v1/agent/conversations/{cid}/accept")
    back = agent.post(f"/api/v1/agent/conversations/{cid}/handback")
    assert back.json()["status"] == "bot"
    # The bot (the fake Rasa, which echoes) answers again.
    turn = client.post("/api/v1/chat", json={"user_id": user_id, "text": "thanks, one more question"}).json()
    assert turn["conversation_id"] == cid and turn["status"] == "bot"
    assert [(m["role"], m["text"]) for m in turn["messages"]] == [("bot", "echo: thanks, one more question")]
    assert agent.post(f"/api/v1/agent/conversations/{cid}/messages", json={"text": "x"}).status_code == 409


def test_queue_moves_and_customers_hear_their_place(
    client: TestClient, service: TestClient, session: Session
) -> None:
    agent, _ = logged_in(client, session, Role.agent)
    agent.post("/api/v1/agent/status", json={"online": True})
    first, _ = queued_chat(client, service)
    second, second_user = queued_chat(client, service)
    third, _ = queued_chat(client, service)
    assert [i["position"] for i in agent.get("/api/v1/agent/queue").json()["items"]] == [1, 2, 3]
    agent.post(f"/api/v1/agent/conversations/{first}/accept")
    items = agent.get("/api/v1/agent/queue").json()["items"]
    assert [(i["conversation_id"], i["position"]) for i in items] == [(second, 1), (third, 2)]
    told = client.get(f"/api/v1/chat/{second}/messages", params={"user_id": second_user}).json()["messages"]
    assert told[-1]["role"] == "system" and "number 1" in told[-1]["text"]


def test_least_loaded_agent_gets_the_chat_with_auto_assign(
    client: TestClient, service: TestClient, session: Session
) -> None:
    busy, busy_id = logged_in(client, session, Role.agent)
    free, free_id = logged_in(client, session, Role.agent)
    busy.post("/api/v1/agent/status", json={"online": True})
    cid, _ = queued_chat(client, service)
    busy.post(f"/api/v1/agent/conversations/{cid}/accept")
    free.post("/api/v1/agent/status", json={"online": True})
    with kefu_env(KEFU_AUTO_ASSIGN="true"):
        other = start_chat(client, "human please")
        body = service.post(f"/api/v1/conversations/{other}/escalate", json={"reason": "complaint"}).json()
    assert (body["outcome"], body["status"]) == ("assigned", "agent")
    load = {
        i["user_id"]: i
        for i in logged_in(client, session, Role.admin)[0].get("/api/v1/agent/load").json()["items"]
    }
    assert load[free_id]["active_chats"] == 1 and load[busy_id]["active_chats"] == 1


def test_canned_replies(client: TestClient, session: Session) -> None:
    admin, _ = logged_in(client, session, Role.admin)
    agent, _ = logged_in(client, session, Role.agent)
    made = admin.post(
        "/api/v1/agent/canned-replies", json={"title": "Hi", "text": "您好！", "language": "zh"}
    )
    assert made.status_code == 201
    rid = made.json()["id"]
    assert (
        agent.post(
            "/api/v1/agent/canned-replies", json={"title": "x", "text": "y", "language": "en"}
        ).status_code
        == 403
    )
    assert any(r["id"] == rid for r in agent.get("/api/v1/agent/canned-replies?language=zh").json()["items"])
    assert all(
        r["language"] == "en" for r in agent.get("/api/v1/agent/canned-replies?language=en").json()["items"]
    )
    assert (
        admin.patch(f"/api/v1/agent/canned-replies/{rid}", json={"title": "Greeting"}).json()["title"]
        == "Greeting"
    )
    bad = admin.post("/api/v1/agent/canned-replies", json={"title": "x", "text": "y", "language": "fr"})
    assert bad.status_code == 422
    assert admin.delete(f"/api/v1/agent/canned-replies/{rid}").status_code == 204
    assert agent.get(f"/api/v1/agent/canned-replies/{rid}").status_code == 404
    assert agent.get("/api/v1/agent/load").status_code == 403


def test_messages_route_checks_the_customer(client: TestClient) -> None:
    cid = start_chat(client)
    assert client.get(f"/api/v1/chat/{cid}/messages", params={"user_id": "someone-else"}).status_code == 404
    assert client.get("/api/v1/chat/nope/messages", params={"user_id": "x"}).status_code == 404


def test_channel_key_in_production(client: TestClient) -> None:
    with kefu_env(
        KEFU_ENV="production",
        KEFU_SECRET_KEY="s" * 40,
        RASA_TOKEN="r" * 40,
        KEFU_METRICS_TOKEN="m" * 40,
        KEFU_ENCRYPTION_KEY=get_settings().encryption_key,  # the development one: stored rows stay readable
        KEFU_CHANNEL_KEYS="key-one,key-two",
    ):
        anonymous = client.post("/api/v1/chat", json={"user_id": "p1", "text": "hi"})
        assert anonymous.status_code == 401
        wrong = client.post(
            "/api/v1/chat", json={"user_id": "p1", "text": "hi"}, headers={"Authorization": "Bearer nope"}
        )
        assert wrong.status_code == 401
        ok = client.post(
            "/api/v1/chat", json={"user_id": "p1", "text": "hi"}, headers={"Authorization": "Bearer key-two"}
        )
        assert ok.status_code == 200
        cid = ok.json()["conversation_id"]
        assert client.get(f"/api/v1/chat/{cid}/messages", params={"user_id": "p1"}).status_code == 401
        read = client.get(
            f"/api/v1/chat/{cid}/messages",
            params={"user_id": "p1"},
            headers={"Authorization": "Bearer key-one"},
        )
        assert read.status_code == 200


def test_last_agent_leaving_turns_the_queue_into_tickets(
    client: TestClient, service: TestClient, session: Session
) -> None:
    agent, _ = logged_in(client, session, Role.agent)
    agent.post("/api/v1/agent/status", json={"online": True})
    cid, user_id = queued_chat(client, service)
    assert agent.post("/api/v1/agent/status", json={"online": False}).json()["online"] is False
    seen = client.get(f"/api/v1/chat/{cid}/messages", params={"user_id": user_id}).json()
    assert seen["status"] == "bot"
    assert "ticket T-" in seen["messages"][-1]["text"]
    assert agent.get("/api/v1/agent/queue").json()["items"] == []
    tickets = agent.get("/api/v1/tickets", params={"limit": 500}).json()["items"]
    assert any(t["conversation_id"] == cid for t in tickets)


def test_two_agents_accepting_one_chat_at_once_cannot_both_win(
    client: TestClient, service: TestClient, session: Session
) -> None:
    # Issue 22 (low): both read "queued" before either wrote, and both got 200 with the chat assigned twice.
    from sqlalchemy.orm import Session as OrmSession

    from crm_bridge.conversations.models import Conversation
    from crm_bridge.escalation import lifecycle
    from crm_bridge.users.models import User
    from kefu_core.errors import Conflict

    first, first_id = logged_in(client, session, Role.agent)
    second, second_id = logged_in(client, session, Role.agent)
    for agent in (first, second):
        agent.post("/api/v1/agent/status", json={"online": True})
    cid, _ = queued_chat(client, service)
    engine = session.get_bind()
    with OrmSession(engine) as one, OrmSession(engine) as two:
        seen_by_one, seen_by_two = one.get(Conversation, cid), two.get(Conversation, cid)
        assert seen_by_one is not None and seen_by_two is not None
        assert (
            seen_by_one.status.value == seen_by_two.status.value == "queued"
        )  # both looked before either took it
        lifecycle.accept(one, conversation=seen_by_one, agent=one.get(User, first_id), is_admin=False)  # type: ignore[arg-type]
        one.commit()
        try:
            lifecycle.accept(two, conversation=seen_by_two, agent=two.get(User, second_id), is_admin=False)  # type: ignore[arg-type]
        except Conflict as refused:
            assert "another agent" in str(refused)
            two.rollback()
        else:
            raise AssertionError("the second agent took a chat the first had already accepted")
    admin, _ = logged_in(client, session, Role.admin)
    final = admin.get(f"/api/v1/conversations/{cid}").json()
    assert final["status"] == "agent" and final["assignee_id"] == first_id
