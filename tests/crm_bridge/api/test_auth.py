"""Login, roles, 401 and 403."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from crm_bridge.users import service, sessions
from crm_bridge.users.models import Role
from kefu_core.settings import get_settings
from tests.helpers import kefu_env


def _make_user(session: Session, role: Role, password: str = "correct horse battery") -> str:
    username = f"{role.value}-{uuid.uuid4().hex[:8]}"
    service.create(session, username=username, password=password, role=role, languages=["en"])
    session.commit()
    return username


def _login(client: TestClient, username: str, password: str = "correct horse battery") -> str:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def test_password_is_stored_hashed(session: Session) -> None:
    username = _make_user(session, Role.agent)
    user = service.get_by_username(session, username)
    assert user is not None
    assert user.password_hash.startswith("$argon2id$")
    assert "correct horse" not in user.password_hash


def test_login_and_me(client: TestClient, session: Session) -> None:
    username = _make_user(session, Role.agent)
    response = client.post(
        "/api/v1/auth/token", data={"username": username, "password": "correct horse battery"}
    )
    assert response.status_code == 200
    assert "kefu_session" in response.headers["set-cookie"]
    assert "HttpOnly" in response.headers["set-cookie"]
    token = response.json()["access_token"]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["username"] == username
    assert "password_hash" not in me.json()


def test_wrong_password_and_unknown_user_look_the_same(client: TestClient, session: Session) -> None:
    username = _make_user(session, Role.agent)
    wrong = client.post("/api/v1/auth/token", data={"username": username, "password": "nope nope nope"})
    unknown = client.post("/api/v1/auth/token", data={"username": "ghost-user", "password": "nope nope nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]


@pytest.mark.parametrize("path", ["/api/v1/users", "/api/v1/auth/me"])
def test_no_credentials_is_401(client: TestClient, path: str) -> None:
    fresh = TestClient(client.app)  # no cookies from earlier logins
    response = fresh.get(path)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_forged_or_expired_token_is_401(client: TestClient, session: Session) -> None:
    forged = jwt.encode({"sub": "1", "role": "admin", "exp": 9999999999}, "not-the-key", algorithm="HS256")
    fresh = TestClient(client.app)
    assert fresh.get("/api/v1/users", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    expired = jwt.encode({"sub": "1", "exp": 1}, "x", algorithm="HS256")
    assert fresh.get("/api/v1/users", headers={"Authorization": f"Bearer {expired}"}).status_code == 401


def test_a_token_already_verified_is_refused_once_it_expires(client: TestClient, session: Session) -> None:
    # The signature check is remembered per token; the expiry must still count on every request.
    user = service.get_by_username(session, _make_user(session, Role.admin))
    assert user is not None
    expires = int(time.time()) + 2
    sid = sessions.create(session, user=user, ttl_s=60, user_agent=None).id
    session.commit()
    token = jwt.encode(
        {"sub": str(user.id), "sid": sid, "role": "admin", "exp": expires, "typ": "access"},
        get_settings().secret_key,
        algorithm="HS256",
    )
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/users", headers=headers).status_code == 200
    assert client.get("/api/v1/users", headers=headers).status_code == 200
    time.sleep(max(0.0, expires - time.time()) + 0.1)
    refused = client.get("/api/v1/users", headers=headers)
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "invalid or expired token"


def test_a_remembered_token_counts_only_under_the_key_that_signed_it(
    client: TestClient, session: Session
) -> None:
    token = _login(client, _make_user(session, Role.admin))
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/users", headers=headers).status_code == 200  # verified and remembered
    with kefu_env(KEFU_SECRET_KEY="a-rotated-secret-key-of-at-least-32-characters"):
        assert client.get("/api/v1/users", headers=headers).status_code == 401
    assert client.get("/api/v1/users", headers=headers).status_code == 200


def test_agent_gets_403_on_admin_routes(client: TestClient, session: Session) -> None:
    token = _login(client, _make_user(session, Role.agent))
    fresh = TestClient(client.app)
    response = fresh.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_admin_manages_users(client: TestClient, session: Session) -> None:
    token = _login(client, _make_user(session, Role.admin))
    auth = {"Authorization": f"Bearer {token}"}
    fresh = TestClient(client.app)
    name = f"new-{uuid.uuid4().hex[:6]}"
    created = fresh.post(
        "/api/v1/users",
        json={"username": name, "password": "a long passphrase", "role": "agent", "languages": ["zh"]},
        headers=auth,
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    dup = fresh.post(
        "/api/v1/users",
        json={"username": name, "password": "a long passphrase", "role": "agent"},
        headers=auth,
    )
    assert dup.status_code == 409
    listed = fresh.get("/api/v1/users", params={"limit": 500}, headers=auth).json()
    assert listed["total"] >= 2
    assert any(u["username"] == name for u in listed["items"])
    patched = fresh.patch(f"/api/v1/users/{user_id}", json={"active": False}, headers=auth)
    assert patched.json()["active"] is False
    # a deactivated account cannot log in
    assert (
        fresh.post("/api/v1/auth/token", data={"username": name, "password": "a long passphrase"}).status_code
        == 401
    )
    assert fresh.get("/api/v1/users/999999", headers=auth).status_code == 404


def test_deactivation_revokes_existing_tokens(client: TestClient, session: Session) -> None:
    admin = TestClient(client.app)
    admin.headers["Authorization"] = f"Bearer {_login(client, _make_user(session, Role.admin))}"
    agent_name = _make_user(session, Role.agent)
    agent = TestClient(client.app)
    agent.headers["Authorization"] = f"Bearer {_login(client, agent_name)}"
    assert agent.get("/api/v1/auth/me").status_code == 200  # cached now
    user = service.get_by_username(session, agent_name)
    assert user is not None
    assert admin.patch(f"/api/v1/users/{user.id}", json={"active": False}).status_code == 200
    assert agent.get("/api/v1/auth/me").status_code == 401


def test_cookie_session_authenticates(client: TestClient, session: Session) -> None:
    username = _make_user(session, Role.admin)
    browser = TestClient(client.app)
    browser.post("/api/v1/auth/token", data={"username": username, "password": "correct horse battery"})
    assert browser.get("/api/v1/users").status_code == 200
    same_site = {"Origin": "http://testserver", "X-CSRF-Token": browser.cookies["kefu_csrf"]}
    assert browser.post("/api/v1/auth/logout", headers=same_site).status_code == 204
    assert browser.get("/api/v1/users").status_code == 401


def test_service_token_is_not_a_user(client: TestClient) -> None:
    from tests.app_fixtures import SERVICE_TOKEN

    fresh = TestClient(client.app)
    assert fresh.get("/api/v1/users", headers={"Authorization": f"Bearer {SERVICE_TOKEN}"}).status_code == 403


def test_the_service_token_is_never_accepted_as_a_cookie(client: TestClient) -> None:
    # Issue 22 (item 11): a browser holding the service token (as the session cookie) acted as the service.
    from tests.app_fixtures import SERVICE_TOKEN

    header = TestClient(client.app).get(
        "/api/v1/tickets", headers={"Authorization": f"Bearer {SERVICE_TOKEN}"}
    )
    assert header.status_code == 200
    browser = TestClient(client.app, cookies={"kefu_session": SERVICE_TOKEN})
    refused = browser.get("/api/v1/tickets")
    assert refused.status_code == 401 and "cookie" in refused.json()["error"]["message"]


def test_an_admin_cannot_lock_themselves_out(client: TestClient, session: Session) -> None:
    name = _make_user(session, Role.admin)
    me = TestClient(client.app)  # logins on their own clients: the shared one must keep no session cookie
    me.headers["Authorization"] = f"Bearer {_login(me, name)}"
    own = service.get_by_username(session, name)
    assert own is not None
    for change in ({"active": False}, {"role": "agent"}):
        refused = me.patch(f"/api/v1/users/{own.id}", json=change)
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "conflict"
    after = me.get("/api/v1/auth/me")
    assert after.status_code == 200 and after.json()["role"] == "admin"
    # Other changes to one's own account, and another admin demoting this one, still work.
    assert me.patch(f"/api/v1/users/{own.id}", json={"display_name": "Me"}).status_code == 200
    other = TestClient(client.app)
    other.headers["Authorization"] = f"Bearer {_login(other, _make_user(session, Role.admin))}"
    assert other.patch(f"/api/v1/users/{own.id}", json={"role": "agent"}).json()["role"] == "agent"
    assert client.get("/api/v1/auth/me").status_code == 401
