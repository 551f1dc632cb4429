"""Issue 22 item 5: a change the session cookie authenticates needs the session's CSRF token and a
same-origin Origin (or Referer); Bearer requests are unaffected."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.users.models import Role, User
from tests.crm_bridge.users.helpers import PASSWORD, bearer, make_user, new_client, token

SAME = "http://testserver"


def _browser(client: TestClient, session: Session) -> TestClient:
    username, _ = make_user(session, Role.admin)
    browser = new_client(client)
    signed_in = browser.post("/admin/login", data={"username": username, "password": PASSWORD})
    assert signed_in.status_code == 200 and "kefu_csrf" in browser.cookies
    return browser


def _new_user() -> dict[str, str]:
    return {"username": f"csrf-{uuid.uuid4().hex[:8]}", "password": "plum kettle orbit", "role": "agent"}


def _exists(session: Session, username: str) -> bool:
    session.expire_all()
    return session.scalars(select(User).where(User.username == username)).first() is not None


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "https://evil.example", "X-CSRF-Token": "<the right token>"},
        {"Referer": "https://evil.example/page", "X-CSRF-Token": "<the right token>"},
        {"X-CSRF-Token": "<the right token>"},  # neither Origin nor Referer
        {"Origin": SAME},  # no token
        {"Origin": SAME, "X-CSRF-Token": "forged-token"},
    ],
    ids=["foreign", "foreign+token", "foreign-referer", "no-origin", "no-token", "wrong-token"],
)
def test_cookie_changes_without_token_and_origin_are_403(
    client: TestClient, session: Session, headers: dict[str, str]
) -> None:
    browser = _browser(client, session)
    headers = {k: browser.cookies["kefu_csrf"] if v == "<the right token>" else v for k, v in headers.items()}
    body = _new_user()
    refused = browser.post("/api/v1/users", json=body, headers=headers)
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "csrf_failed" and error["message"] and error["request_id"]
    assert not _exists(session, body["username"])


def test_cookie_changes_with_token_and_same_origin_pass(client: TestClient, session: Session) -> None:
    browser = _browser(client, session)
    token_header = {"X-CSRF-Token": browser.cookies["kefu_csrf"]}
    body = _new_user()
    assert (
        browser.post("/api/v1/users", json=body, headers={**token_header, "Origin": SAME}).status_code == 201
    )
    body = _new_user()
    referer = {**token_header, "Referer": f"{SAME}/admin/agent/load"}
    assert browser.post("/api/v1/users", json=body, headers=referer).status_code == 201
    assert browser.get("/api/v1/users").status_code == 200  # reads need no token


def test_the_page_carries_the_token(client: TestClient, session: Session) -> None:
    browser = _browser(client, session)
    page = browser.get("/admin/kb")
    assert f'<meta name="csrf-token" content="{browser.cookies["kefu_csrf"]}">' in page.text
    assert f'name="csrf_token" value="{browser.cookies["kefu_csrf"]}"' in page.text  # the logout form


def test_bearer_requests_are_unaffected(client: TestClient, session: Session) -> None:
    username, _ = make_user(session, Role.admin)
    api = new_client(client)
    headers = {**bearer(token(api, username)), "Origin": "https://evil.example"}
    assert api.post("/api/v1/users", json=_new_user(), headers=headers).status_code == 201


def test_a_cross_site_logout_form_is_refused(client: TestClient, session: Session) -> None:
    browser = _browser(client, session)
    forged = browser.post("/admin/logout", headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert forged.status_code == 403
    assert browser.get("/api/v1/auth/me").status_code == 200
    own = browser.post(
        "/admin/logout",
        data={"csrf_token": browser.cookies["kefu_csrf"]},
        headers={"Origin": SAME},
        follow_redirects=False,
    )
    assert own.status_code == 303
    assert browser.get("/api/v1/auth/me").status_code == 401


def test_a_cross_site_login_is_refused(client: TestClient, session: Session) -> None:
    username, _ = make_user(session, Role.admin)
    browser = new_client(client)
    forged = browser.post(
        "/admin/login",
        data={"username": username, "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert forged.status_code == 403 and "kefu_session" not in browser.cookies
