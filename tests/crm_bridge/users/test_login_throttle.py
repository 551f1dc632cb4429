"""Issue 22 item 2: failed sign-ins lock an account name (or an address) for a while, on the token route
and the login page alike, without telling whether the account exists; hashing is bounded; the password
rule."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session

from crm_bridge.users import passwords, throttle
from crm_bridge.users.models import Role
from kefu_core.errors import Invalid
from tests.crm_bridge.users.helpers import PASSWORD, bearer, make_user, new_client, token
from tests.helpers import kefu_env


def _try(client: TestClient, username: str, password: str) -> int:
    return client.post("/api/v1/auth/token", data={"username": username, "password": password}).status_code


def test_25_wrong_passwords_then_the_right_one_is_429_not_200(client: TestClient, session: Session) -> None:
    username, _ = make_user(session)
    browser = new_client(client)
    codes = [_try(browser, username, f"wrong guess {i:02d}") for i in range(25)]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    right = browser.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert right.status_code == 429
    assert right.json()["error"]["code"] == "login_locked"
    assert 0 < int(right.headers["Retry-After"]) <= 15 * 60
    assert "access_token" not in right.text
    # Another address is locked out of this account too (the count is the account's), and
    # forgetting the failures (what `kefu users unlock` does) lets the owner back in.
    assert _try(new_client(client), username, PASSWORD) == 429
    throttle.clear_account(session, username=username)
    session.commit()
    assert _try(browser, username, PASSWORD) == 200


def test_an_unknown_account_locks_exactly_like_a_real_one(client: TestClient, session: Session) -> None:
    real, _ = make_user(session)
    ghost = real.replace("@", "-ghost@")
    answers = {}
    for name in (real, ghost):
        browser = new_client(client)
        responses = [browser.post("/api/v1/auth/token", data={"username": name, "password": "no no no no"})]
        responses += [browser.post("/api/v1/auth/token", data={"username": name, "password": "no"})]
        for _ in range(5):
            responses.append(browser.post("/api/v1/auth/token", data={"username": name, "password": "nope"}))
        answers[name] = [
            (r.status_code, r.json()["error"]["code"], r.json()["error"]["message"]) for r in responses
        ]
    assert answers[real] == answers[ghost]
    assert [a[0] for a in answers[real]] == [401] * 5 + [429] * 2


def test_one_address_is_limited_across_account_names(client: TestClient, session: Session) -> None:
    username, _ = make_user(session)
    browser = new_client(client)
    with kefu_env(KEFU_LOGIN_ADDRESS_MAX_FAILURES="3"):
        for i in range(3):
            assert _try(browser, f"someone-{i}@example.com", "not the password") == 401
        assert _try(browser, username, PASSWORD) == 429  # the right password, from the same address
        assert _try(new_client(client), username, PASSWORD) == 200  # from elsewhere: fine


def test_the_login_page_locks_too(client: TestClient, session: Session) -> None:
    username, _ = make_user(session, Role.admin)
    browser = new_client(client)
    form = {"username": username, "password": "guessing again", "next": "/admin/kb"}
    statuses = [browser.post("/admin/login", data=form, follow_redirects=False).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    locked = browser.post("/admin/login", data={**form, "password": PASSWORD}, follow_redirects=False)
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    assert "too many failed sign-ins" in locked.text
    assert "kefu_session" not in locked.headers.get("set-cookie", "")


def test_failures_are_stored_as_keyed_hashes(client: TestClient, session: Session) -> None:
    from sqlalchemy import select

    from crm_bridge.users.models import LoginFailure

    browser = new_client(client)
    _try(browser, "a-typed-secret@example.com", "hunter2 hunter2")
    keys = session.scalars(select(LoginFailure.key)).all()
    assert throttle.account_key("a-typed-secret@example.com") in keys
    assert not any("typed-secret" in k for k in keys)


@pytest.mark.parametrize(
    ("password", "why"),
    [("short pw", "at least 12"), ("Password1234!", "too common"), ("qwerty 123456", "too common"),
     ("111111111111", "too common"), ("1234567890123", "too common")],
)  # fmt: skip
def test_the_password_rule(password: str, why: str) -> None:
    with pytest.raises(Invalid, match=why):
        passwords.check_password_rule(password)


def test_weak_passwords_are_refused_by_the_api(client: TestClient, session: Session) -> None:
    admin, _ = make_user(session, Role.admin)
    api = new_client(client)
    auth = bearer(token(api, admin))

    def create(name: str, password: str) -> Response:
        body = {"username": f"{name}-{uuid.uuid4().hex[:6]}", "password": password, "role": "agent"}
        return api.post("/api/v1/users", json=body, headers=auth)

    refused = create("weak", "password1234")
    assert refused.status_code == 422 and "too common" in refused.json()["error"]["message"]
    assert create("short", "eleven char").status_code == 422
    ok = create("strong", "plum kettle orbit")
    assert ok.status_code == 201, ok.text


def test_password_hashes_run_a_bounded_number_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    running, most = 0, 0
    lock = threading.Lock()

    class SlowHasher:
        def hash(self, password: str) -> str:
            nonlocal running, most
            with lock:
                running += 1
                most = max(most, running)
            time.sleep(0.05)
            with lock:
                running -= 1
            return "h"

    monkeypatch.setattr(passwords, "_hasher", SlowHasher())
    with kefu_env(KEFU_LOGIN_HASH_CONCURRENCY="2"):
        threads = [threading.Thread(target=passwords.burn_time, args=("x",)) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert most == 2
