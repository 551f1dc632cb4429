"""Issue 22 item 4: every token names a server-side session; logout, password, role and active
changes end it (in every worker within 2 s); users list and end their sessions; the agent socket closes."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from starlette.websockets import WebSocketDisconnect

from crm_bridge.users import sessions
from crm_bridge.users.auth import ACCOUNT_TTL, decode_access_token
from crm_bridge.users.models import Role
from tests.crm_bridge.users.helpers import bearer, make_user, new_client, token

pytestmark = pytest.mark.timeout(120)


def test_the_old_token_is_refused_after_logout(client: TestClient, session: Session) -> None:
    username, _ = make_user(session)
    api = new_client(client)
    access = token(api, username)
    assert api.get("/api/v1/auth/me", headers=bearer(access)).status_code == 200
    assert api.post("/api/v1/auth/logout", headers=bearer(access)).status_code == 204
    refused = new_client(client).get("/api/v1/auth/me", headers=bearer(access))
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    "change", [{"password": "a brand new passphrase"}, {"role": "admin"}, {"active": False}], ids=str
)
def test_account_changes_end_its_sessions(client: TestClient, session: Session, change: dict) -> None:
    admin, _ = make_user(session, Role.admin)
    username, user_id = make_user(session)
    api = new_client(client)
    old = token(api, username)
    assert api.get("/api/v1/auth/me", headers=bearer(old)).status_code == 200
    changed = api.patch(f"/api/v1/users/{user_id}", json=change, headers=bearer(token(api, admin)))
    assert changed.status_code == 200, changed.text
    assert api.get("/api/v1/auth/me", headers=bearer(old)).status_code == 401


def test_a_revocation_elsewhere_counts_within_two_seconds(client: TestClient, session: Session) -> None:
    # Another worker (or the CLI) revokes in the database: this process's cache must not outlive 2 s.
    username, _ = make_user(session)
    api = new_client(client)
    access = token(api, username)
    assert api.get("/api/v1/auth/me", headers=bearer(access)).status_code == 200  # cached now
    found = decode_access_token(access)
    assert found is not None
    sessions.revoke(session, session_id=found[1])
    session.commit()
    started = time.monotonic()
    while api.get("/api/v1/auth/me", headers=bearer(access)).status_code == 200:
        assert time.monotonic() - started < 2.0, "still accepted after 2 s"
        time.sleep(0.1)
    assert ACCOUNT_TTL <= 2.0


def test_users_list_and_end_their_own_sessions(client: TestClient, session: Session) -> None:
    username, user_id = make_user(session)
    other_user, _ = make_user(session)
    api = new_client(client)
    phone, laptop = token(api, username), token(api, username)
    listed = api.get("/api/v1/auth/sessions", headers=bearer(laptop))
    assert listed.status_code == 200
    rows = listed.json()
    assert len(rows) == 2 and {r["user_id"] for r in rows} == {user_id}
    assert [r["current"] for r in rows].count(True) == 1
    phone_id = next(r["id"] for r in rows if not r["current"])
    # Someone else's session is not found for an agent (nothing told about it) ...
    stranger = token(api, other_user)
    assert api.delete(f"/api/v1/auth/sessions/{phone_id}", headers=bearer(stranger)).status_code == 404
    assert api.get("/api/v1/auth/me", headers=bearer(phone)).status_code == 200
    # ... and the owner ends it.
    assert api.delete(f"/api/v1/auth/sessions/{phone_id}", headers=bearer(laptop)).status_code == 204
    assert api.get("/api/v1/auth/me", headers=bearer(phone)).status_code == 401
    assert api.get("/api/v1/auth/me", headers=bearer(laptop)).status_code == 200
    assert len(api.get("/api/v1/auth/sessions", headers=bearer(laptop)).json()) == 1


def test_admins_list_and_end_anyones_sessions(client: TestClient, session: Session) -> None:
    admin, _ = make_user(session, Role.admin)
    username, user_id = make_user(session)
    api = new_client(client)
    theirs, mine = token(api, username), token(api, admin)
    listed = api.get(f"/api/v1/auth/sessions?user_id={user_id}", headers=bearer(mine)).json()
    assert len(listed) == 1
    assert api.delete(f"/api/v1/auth/sessions/{listed[0]['id']}", headers=bearer(mine)).status_code == 204
    assert api.get("/api/v1/auth/me", headers=bearer(theirs)).status_code == 401
    # An agent asking for someone else's list is refused.
    agent = token(api, make_user(session)[0])
    assert api.get(f"/api/v1/auth/sessions?user_id={user_id}", headers=bearer(agent)).status_code == 403


def test_the_agent_socket_closes_when_its_session_is_revoked(client: TestClient, session: Session) -> None:
    username, _ = make_user(session)
    api = new_client(client)
    access, other = token(api, username), token(api, username)
    with api.websocket_connect(f"/api/v1/agent/ws?token={access}") as ws:
        assert ws.receive_json()["type"] == "queue"
        sid = decode_access_token(access)
        assert sid is not None
        assert api.delete(f"/api/v1/auth/sessions/{sid[1]}", headers=bearer(other)).status_code == 204
        started = time.monotonic()
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                ws.receive_json()
        assert closed.value.code == 4401
        assert time.monotonic() - started < 3.0
    with api.websocket_connect(f"/api/v1/agent/ws?token={access}") as ws, pytest.raises(WebSocketDisconnect):
        ws.receive_json()
