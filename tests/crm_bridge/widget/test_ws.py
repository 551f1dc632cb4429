"""The widget and agent WebSockets: acks, idempotent resends, reconnect + resume without loss or
duplicates, agent messages live, typing both ways, resolve -> CSAT -> rating stored, HTML as text."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.websockets import WebSocketDisconnect

from crm_bridge.conversations.models import Message, MessageRole
from crm_bridge.feedback.models import Feedback
from crm_bridge.ratelimit import SlidingWindow
from crm_bridge.users.models import Role
from tests.app_fixtures import logged_in
from tests.crm_bridge.widget.conftest import frames_until
from tests.helpers import kefu_env

pytestmark = pytest.mark.timeout(120)


def widget_token(client: TestClient) -> str:
    return str(client.post("/api/v1/widget/session", json={"token": None}).json()["token"])


def say(ws: Any, client_id: str, text: str) -> tuple[int, list[dict[str, Any]]]:
    ws.send_json({"type": "message", "client_id": client_id, "text": text})
    frames = frames_until(ws, lambda f: f["type"] == "ack")
    return int(frames[-1]["id"]), frames


def agent_token(agent: TestClient) -> str:
    return str(agent.headers["Authorization"].split()[1])


def test_invalid_token_is_closed_with_4401(client: TestClient) -> None:
    for url in ("/api/v1/widget/ws?token=garbage", "/api/v1/widget/ws", "/api/v1/agent/ws?token=nope"):
        with client.websocket_connect(url) as ws, pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4401


def test_resend_is_acked_with_the_same_id_and_stored_once(client: TestClient, session: Session) -> None:
    token = widget_token(client)
    with client.websocket_connect(f"/api/v1/widget/ws?token={token}") as ws:
        assert ws.receive_json()["type"] == "hello"
        first, frames = say(ws, "c-1", "<img src=x onerror=alert(1)> where is my order?")
        # The customer sees the typing dots while the bot (the fake Rasa) answers.
        assert {"type": "typing", "role": "bot", "typing": True} in frames
        again, _ = say(ws, "c-1", "<img src=x onerror=alert(1)> where is my order?")
        assert again == first
        ws.send_json({"type": "message", "client_id": "c-2", "text": "   "})
        bad = frames_until(ws, lambda f: f["type"] == "error")
        assert bad[-1]["code"] == "invalid_message"
    count = session.scalar(select(func.count()).select_from(Message).where(Message.client_id == "c-1"))
    assert count == 1
    history = client.get("/api/v1/widget/history", headers={"Authorization": f"Bearer {token}"}).json()
    texts = [m["text"] for m in history["messages"]]
    assert texts.count("<img src=x onerror=alert(1)> where is my order?") == 1  # HTML kept as text


def test_handoff_reconnect_resume_typing_resolve_and_rating(
    client: TestClient, service: TestClient, session: Session
) -> None:
    agent, agent_id = logged_in(client, session, Role.agent)
    agent.post("/api/v1/agent/status", json={"online": True})
    token = widget_token(client)
    with client.websocket_connect(f"/api/v1/widget/ws?token={token}") as ws:
        ws.receive_json()
        first, _ = say(ws, "m-1", "I need a person")
        cid = client.get("/api/v1/widget/history", headers={"Authorization": f"Bearer {token}"}).json()[
            "conversation_id"
        ]
        assert (
            service.post(f"/api/v1/conversations/{cid}/escalate", json={"reason": "customer_request"}).json()[
                "outcome"
            ]
            == "queued"
        )
        status = frames_until(ws, lambda f: f["type"] == "status")[-1]
        assert (status["status"], status["queue_position"]) == ("queued", 1)

        with client.websocket_connect(f"/api/v1/agent/ws?token={agent_token(agent)}") as agent_ws:
            queue = frames_until(agent_ws, lambda f: f["type"] == "queue")[-1]
            assert cid in [i["conversation_id"] for i in queue["items"]]
            agent.post(f"/api/v1/agent/conversations/{cid}/accept")
            joined = frames_until(ws, lambda f: f["type"] == "status" and f["status"] == "agent")[-1]
            assert joined["agent_name"]
            # customer -> agent, live; and the bot stays silent
            said, frames = say(ws, "m-2", "hello agent")
            got = frames_until(agent_ws, lambda f: f["type"] == "message" and f.get("id") == said)[-1]
            assert got["conversation_id"] == cid and got["role"] == "customer" and got["internal"] is False
            ws.send_json({"type": "typing", "typing": True})
            assert frames_until(agent_ws, lambda f: f["type"] == "typing")[-1]["typing"] is True
            agent_ws.send_json({"type": "typing", "conversation_id": cid, "typing": True})
            assert (
                frames_until(ws, lambda f: f["type"] == "typing" and f["role"] == "agent")[-1]["typing"]
                is True
            )
            live = agent.post(
                f"/api/v1/agent/conversations/{cid}/messages", json={"text": "Hi, I am here"}
            ).json()
            frames = frames_until(ws, lambda f: f["type"] == "message" and f["id"] == live["id"])
            assert not any(f["type"] == "message" and f["role"] == "bot" for f in frames)

    # Offline: the agent writes twice (and a note); the customer reconnects and resumes.
    missed = [
        agent.post(f"/api/v1/agent/conversations/{cid}/messages", json={"text": f"while away {i}"}).json()[
            "id"
        ]
        for i in range(2)
    ]
    agent.post(f"/api/v1/agent/conversations/{cid}/messages", json={"text": "secret note", "internal": True})
    with client.websocket_connect(f"/api/v1/widget/ws?token={token}") as ws:
        assert ws.receive_json()["status"] == "agent"
        ws.send_json({"type": "resume", "after": live["id"]})
        ws.send_json({"type": "resume", "after": live["id"]})  # a doubled resume sends nothing twice
        ws.send_json({"type": "ping"})
        frames = frames_until(ws, lambda f: f["type"] == "pong")
        ids = [f["id"] for f in frames if f["type"] == "message"]
        assert ids == missed
        assert all(f.get("text") != "secret note" for f in frames)

        agent.post(f"/api/v1/agent/conversations/{cid}/resolve")
        frames = frames_until(ws, lambda f: f["type"] == "csat")
        assert any(f["type"] == "status" and f["status"] == "resolved" for f in frames)
        ws.send_json({"type": "rating", "rating": 9})
        assert frames_until(ws, lambda f: f["type"] == "error")[-1]["code"] == "invalid_rating"
        ws.send_json({"type": "rating", "rating": 5, "comment": "quick <b>help</b>"})
        frames_until(ws, lambda f: f["type"] == "rated")
    rating = session.scalars(select(Feedback).where(Feedback.conversation_id == cid)).one()
    assert (rating.rating, rating.agent_id, rating.comment) == (5, agent_id, "quick <b>help</b>")
    assert first < said < live["id"] < missed[0]


def test_agent_socket_cookie_only_from_our_own_pages(client: TestClient, session: Session) -> None:
    agent, _ = logged_in(client, session, Role.agent)
    cookie = {"Cookie": f"kefu_session={agent_token(agent)}"}
    with client.websocket_connect("/api/v1/agent/ws", headers=cookie) as ws:
        assert ws.receive_json()["type"] == "queue"
    evil = {**cookie, "Origin": "https://evil.example"}
    with (
        client.websocket_connect("/api/v1/agent/ws", headers=evil) as ws,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        ws.receive_json()
    assert closed.value.code == 4401
    own = {**cookie, "Origin": "http://testserver"}
    with client.websocket_connect("/api/v1/agent/ws", headers=own) as ws:
        assert ws.receive_json()["type"] == "queue"


def test_a_customer_flooding_the_chat_is_refused_and_nothing_extra_is_stored(
    client: TestClient, session: Session
) -> None:
    # Issue 22: customer-side rate limits per identity (REST user_id, widget session), not per address.
    saved = client.app.state.customer_rate  # type: ignore[attr-defined]
    client.app.state.customer_rate = SlidingWindow(3)  # type: ignore[attr-defined]
    try:
        user = f"flood-{uuid.uuid4().hex[:8]}"
        answers = [client.post("/api/v1/chat", json={"user_id": user, "text": f"hi {i}"}) for i in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        refused = answers[-1]
        assert refused.json()["error"]["code"] == "rate_limited" and int(refused.headers["Retry-After"]) >= 1
        assert client.post("/api/v1/chat", json={"user_id": f"{user}-2", "text": "hi"}).status_code == 200
        stored = session.scalars(
            select(Message.text).where(Message.text.like("hi %"), Message.role == MessageRole.customer)
        ).all()
        assert "hi 3" not in stored and {"hi 0", "hi 1", "hi 2"} <= set(stored)

        token = widget_token(client)
        with client.websocket_connect(f"/api/v1/widget/ws?token={token}") as ws:
            ws.receive_json()
            for i in range(3):
                say(ws, f"f-{i}", f"flood {i}")
            ws.send_json({"type": "message", "client_id": "f-3", "text": "flood 3"})
            error = frames_until(ws, lambda f: f["type"] == "error")[-1]
        assert (error["code"], error["client_id"]) == ("rate_limited", "f-3") and error["retry_after_s"] >= 1
        count = session.scalar(select(func.count()).select_from(Message).where(Message.client_id == "f-3"))
        assert count == 0
    finally:
        client.app.state.customer_rate = saved  # type: ignore[attr-defined]


def test_a_socket_flooding_frames_is_refused_past_its_budget(client: TestClient) -> None:
    token = widget_token(client)
    with (
        kefu_env(KEFU_WS_FRAMES_PER_MINUTE="10"),
        client.websocket_connect(f"/api/v1/widget/ws?token={token}") as ws,
    ):
        ws.receive_json()
        for _ in range(10):
            ws.send_json({"type": "ping"})
            assert ws.receive_json() == {"type": "pong"}
        ws.send_json({"type": "ping"})
        refused = frames_until(ws, lambda f: f["type"] == "error")[-1]
    assert refused["code"] == "rate_limited"
