"""Issue 22 item 3: TOTP enrolment (API and page), the code asked for when enrolled, single-use
recovery codes, disable, and KEFU_REQUIRE_MFA."""

from __future__ import annotations

import re
import time

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from crm_bridge.users import service
from crm_bridge.users.models import Role
from tests.crm_bridge.users.helpers import PASSWORD, bearer, make_user, new_client, token
from tests.helpers import kefu_env


def _code(secret: str, steps_from_now: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_from_now)


def _enrol(api: TestClient, access: str) -> tuple[str, list[str]]:
    setup = api.post("/api/v1/auth/mfa/setup", headers=bearer(access))
    assert setup.status_code == 200, setup.text
    body = setup.json()
    assert body["otpauth_uri"].startswith("otpauth://totp/kefu:") and body["qr_svg"].startswith("<svg")
    # The code of the step before: later steps stay free for the sign-ins below (each is good once).
    enabled = api.post(
        "/api/v1/auth/mfa/enable", json={"code": _code(body["secret"], -1)}, headers=bearer(access)
    )
    assert enabled.status_code == 200, enabled.text
    return body["secret"], enabled.json()["recovery_codes"]


def _sign_in(api: TestClient, username: str, **extra: str) -> tuple[int, str]:
    response = api.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD, **extra})
    return response.status_code, (response.json().get("error") or {}).get("code", "")


def test_totp_is_required_once_enrolled(client: TestClient, session: Session) -> None:
    username, _ = make_user(session)
    api = new_client(client)
    secret, codes = _enrol(api, token(api, username))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert _sign_in(api, username) == (401, "mfa_required")
    assert _sign_in(api, username, code="000000") == (401, "invalid_mfa_code")
    assert _sign_in(api, username, code=_code(secret)) == (200, "")
    assert _sign_in(api, username, code=_code(secret)) == (401, "invalid_mfa_code")  # the same code again


def test_a_recovery_code_works_once(client: TestClient, session: Session) -> None:
    username, _ = make_user(session)
    api = new_client(client)
    _, codes = _enrol(api, token(api, username))
    assert _sign_in(api, username, code=codes[3].upper()) == (200, "")
    assert _sign_in(api, username, code=codes[3]) == (401, "invalid_mfa_code")
    assert _sign_in(api, username, code=codes[4]) == (200, "")


def test_wrong_codes_count_towards_the_lock(client: TestClient, session: Session) -> None:
    username, _ = make_user(session)
    api = new_client(client)
    secret, _ = _enrol(api, token(api, username))
    for _ in range(5):
        assert _sign_in(api, username, code="123456")[0] == 401
    assert _sign_in(api, username, code=_code(secret))[0] == 429


def test_disable_needs_a_code(client: TestClient, session: Session) -> None:
    username, _ = make_user(session)
    api = new_client(client)
    access = token(api, username)
    secret, _ = _enrol(api, access)
    refused = api.post("/api/v1/auth/mfa/disable", json={"code": "111111"}, headers=bearer(access))
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_request"
    assert (
        api.post("/api/v1/auth/mfa/disable", json={"code": _code(secret)}, headers=bearer(access)).status_code
        == 204
    )
    assert _sign_in(api, username) == (200, "")


def test_the_login_page_asks_for_the_code(client: TestClient, session: Session) -> None:
    username, _ = make_user(session, Role.admin)
    api = new_client(client)
    secret, _ = _enrol(api, token(api, username))
    browser = new_client(client)
    first = browser.post(
        "/admin/login", data={"username": username, "password": PASSWORD, "next": "/admin/kb/try"}
    )
    assert first.status_code == 200 and 'name="code"' in first.text
    assert "kefu_session" not in browser.cookies
    pending = re.search(r'name="pending" value="([^"]+)"', first.text)
    assert pending is not None
    wrong = browser.post("/admin/login", data={"pending": pending.group(1), "code": "000000"})
    assert wrong.status_code == 401 and 'name="code"' in wrong.text
    done = browser.post(
        "/admin/login",
        data={"pending": pending.group(1), "code": _code(secret), "next": "/admin/kb/try"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/admin/kb/try"
    assert browser.get("/admin/kb/try").status_code == 200


def test_the_enrolment_page_shows_an_inline_qr_code_and_recovery_codes(
    client: TestClient, session: Session
) -> None:
    username, user_id = make_user(session, Role.agent)
    browser = new_client(client)
    browser.post("/admin/login", data={"username": username, "password": PASSWORD})
    page = browser.get("/admin/mfa")
    assert page.status_code == 200 and "is <strong>off</strong>" in page.text
    csrf = {"csrf_token": browser.cookies["kefu_csrf"]}
    origin = {"Origin": "http://testserver"}
    setup = browser.post("/admin/mfa/setup", data=csrf, headers=origin)
    assert setup.status_code == 200 and "<svg" in setup.text and "cdn" not in setup.text.lower()
    secret = re.search(r'id="mfa-secret">([A-Z2-7]+)<', setup.text)
    assert secret is not None
    enabled = browser.post("/admin/mfa/enable", data={**csrf, "code": _code(secret.group(1))}, headers=origin)
    assert enabled.status_code == 200
    assert (
        len(
            re.findall(r"<li><code>[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}</code></li>", enabled.text)
        )
        == 10
    )
    session.expire_all()
    assert service.get_or_raise(session, user_id).mfa_enabled


def test_required_mfa_confines_an_unenrolled_session_to_enrolment(
    client: TestClient, session: Session
) -> None:
    username, _ = make_user(session, Role.admin)
    api = new_client(client)
    with kefu_env(KEFU_REQUIRE_MFA="admin"):
        access = token(api, username)
        blocked = api.get("/api/v1/users", headers=bearer(access))
        assert blocked.status_code == 403 and "two-factor" in blocked.json()["error"]["message"]
        assert api.get("/api/v1/auth/me", headers=bearer(access)).status_code == 200
        browser = new_client(client)
        browser.post(
            "/admin/login", data={"username": username, "password": PASSWORD}, follow_redirects=False
        )
        assert browser.get("/admin/kb", follow_redirects=False).headers["location"] == "/admin/mfa"
        _enrol(api, access)
        assert api.get("/api/v1/users", headers=bearer(access)).status_code == 200  # this session, enrolled
        agent, _ = make_user(session, Role.agent)
        assert api.get("/api/v1/auth/sessions", headers=bearer(token(api, agent))).status_code == 200
    with kefu_env(KEFU_REQUIRE_MFA="all"):
        agent, _ = make_user(session, Role.agent)
        assert api.get("/api/v1/auth/sessions", headers=bearer(token(api, agent))).status_code == 403


def test_production_requires_mfa_for_admins_by_default() -> None:
    from kefu_core.settings import Settings

    # model_construct: the policy alone, without the secrets a real production start needs.
    assert Settings.model_construct(env="production").mfa_policy == "admin"
    assert Settings.model_construct(env="development").mfa_policy == "none"
    assert Settings.model_construct(env="production", require_mfa="all").mfa_policy == "all"
    assert Settings.model_construct(env="production", require_mfa="none").mfa_policy == "none"
