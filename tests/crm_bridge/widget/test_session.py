"""Widget sessions: signed, rotated with a grace period, never crossing customers; history by token."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from crm_bridge.ratelimit import SlidingWindow
from crm_bridge.widget.models import WidgetSession


def new_token(client: TestClient, token: str | None = None) -> dict[str, str]:
    response = client.post("/api/v1/widget/session", json={"token": token, "language": "en"})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_rotation_keeps_the_session_and_the_old_token_briefly(client: TestClient, session: Session) -> None:
    first = new_token(client)
    assert first["conversation_id"] is None and first["expires_at"]
    second = new_token(client, first["token"])
    assert second["token"] != first["token"]
    history = client.get("/api/v1/widget/history", headers={"Authorization": f"Bearer {first['token']}"})
    assert history.status_code == 200  # within the grace period
    # After the grace period the rotated-out token stops working; the current one still works.
    from crm_bridge.widget import sessions

    sid = sessions.jwt.decode(second["token"], options={"verify_signature": False})["sid"]
    widget = session.get(WidgetSession, sid)
    assert widget is not None and widget.rotated_at is not None
    widget.rotated_at = widget.rotated_at - timedelta(minutes=10)
    session.commit()
    assert (
        client.get(
            "/api/v1/widget/history", headers={"Authorization": f"Bearer {first['token']}"}
        ).status_code
        == 401
    )
    assert (
        client.get(
            "/api/v1/widget/history", headers={"Authorization": f"Bearer {second['token']}"}
        ).status_code
        == 200
    )


def test_bad_tokens_start_a_new_session(client: TestClient) -> None:
    first = new_token(client)
    forged = first["token"][:-4] + ("AAAA" if not first["token"].endswith("AAAA") else "BBBB")
    fresh = new_token(client, forged)
    assert fresh["token"] != first["token"]
    assert (
        client.get("/api/v1/widget/history", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    )
    assert client.get("/api/v1/widget/history").status_code == 401
    bad = client.post("/api/v1/widget/session", json={"token": None, "language": "fr"})
    assert bad.status_code == 422


def test_a_customer_cannot_read_another_customers_conversation(client: TestClient) -> None:
    alice, bob = new_token(client)["token"], new_token(client)["token"]
    with client.websocket_connect(f"/api/v1/widget/ws?token={alice}") as ws:
        ws.receive_json()  # hello
        ws.send_json({"type": "message", "client_id": "a-1", "text": "my address is 1 Secret Lane"})
        while ws.receive_json()["type"] != "ack":
            pass
    mine = client.get("/api/v1/widget/history", headers={"Authorization": f"Bearer {alice}"}).json()
    theirs = client.get("/api/v1/widget/history", headers={"Authorization": f"Bearer {bob}"}).json()
    assert any("Secret Lane" in m["text"] for m in mine["messages"])
    assert theirs["conversation_id"] is None and theirs["messages"] == []
    with client.websocket_connect(f"/api/v1/widget/ws?token={bob}") as ws:
        hello = ws.receive_json()
        assert hello["type"] == "hello" and hello["conversation_id"] is None
        ws.send_json({"type": "resume", "after": 0})
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}  # the resume replayed nothing of Alice's


def test_widget_routes_allow_other_origins_and_nothing_else_does(client: TestClient) -> None:
    origin = {"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"}
    preflight = client.options("/api/v1/widget/session", headers=origin)
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "Authorization" in preflight.headers["access-control-allow-headers"]
    posted = client.post(
        "/api/v1/widget/session", json={"token": None}, headers={"Origin": "https://shop.example"}
    )
    assert posted.headers["access-control-allow-origin"] == "*"
    agent_route = client.get("/api/v1/agent/queue", headers={"Origin": "https://shop.example"})
    assert "access-control-allow-origin" not in agent_route.headers


def test_script_and_demo_page_are_served(client: TestClient) -> None:
    script = client.get("/widget.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    demo = client.get("/demo")
    assert demo.status_code == 200 and '<script src="/widget.js"' in demo.text


def test_script_is_revalidated_by_etag(client: TestClient) -> None:
    first = client.get("/widget.js")
    etag = first.headers["etag"]
    assert "detectLanguage" in first.text and first.text.rstrip().endswith("})();")
    again = client.get("/widget.js", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    other = client.get("/widget.js", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.content == first.content


def test_new_sessions_are_rate_limited_per_address(client: TestClient) -> None:
    saved = client.app.state.widget_sessions  # type: ignore[attr-defined]
    client.app.state.widget_sessions = SlidingWindow(3)  # type: ignore[attr-defined]
    try:
        tokens = [
            client.post("/api/v1/widget/session", json={"token": None}).json()["token"] for _ in range(3)
        ]
        refused = client.post("/api/v1/widget/session", json={"token": None})
        assert refused.status_code == 429
        error = refused.json()["error"]
        assert error["code"] == "rate_limited" and 1 <= error["details"]["retry_after_s"] <= 61
        # Rotating a valid token is not a new session: never limited.
        rotated = client.post("/api/v1/widget/session", json={"token": tokens[0]})
        assert rotated.status_code == 200 and rotated.json()["token"] != tokens[0]
    finally:
        client.app.state.widget_sessions = saved  # type: ignore[attr-defined]
