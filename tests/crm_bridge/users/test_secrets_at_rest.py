"""Issue 22 item 10: TOTP secrets are stored encrypted with KEFU_ENCRYPTION_KEY (Fernet), sign-in with a
code still works, `kefu secrets rotate` moves old rows to a new first key, a wrong key is a clear error,
and migration 0016 encrypts the secrets already stored (and decrypts them on downgrade)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import Connection, String, inspect, text
from sqlalchemy.orm import Session

from crm_bridge.migrate import alembic_config, upgrade
from crm_bridge.users.models import Role, User
from kefu.cli import main as kefu_main
from kefu_core.db import make_engine
from kefu_core.settings import get_settings
from tests.crm_bridge.databases import fresh_database
from tests.crm_bridge.users.helpers import PASSWORD, bearer, make_user, new_client, token
from tests.helpers import kefu_env


def _stored(session: Session, user_id: int) -> str:
    """users.totp_secret as the database holds it (no decryption)."""
    session.rollback()
    return str(
        session.execute(text("SELECT totp_secret FROM users WHERE id = :id"), {"id": user_id}).scalar()
    )


def _enrol(client: TestClient, username: str) -> str:
    api = new_client(client)
    access = token(api, username)
    secret = str(api.post("/api/v1/auth/mfa/setup", headers=bearer(access)).json()["secret"])
    code = pyotp.TOTP(secret).at(time.time() - 30)  # the step before: later ones stay free for sign-ins
    assert api.post("/api/v1/auth/mfa/enable", json={"code": code}, headers=bearer(access)).status_code == 200
    return secret


def _sign_in(client: TestClient, username: str, code: str) -> tuple[int, dict[str, str]]:
    response = new_client(client).post(
        "/api/v1/auth/token", data={"username": username, "password": PASSWORD, "code": code}
    )
    return response.status_code, response.json().get("error") or {}


def test_the_database_holds_a_token_that_decrypts_to_the_secret(client: TestClient, session: Session) -> None:
    username, user_id = make_user(session)
    secret = _enrol(client, username)
    stored = _stored(session, user_id)
    assert secret not in stored and stored.startswith("gAAAAA")  # a Fernet token, version 0x80
    assert Fernet(get_settings().encryption_keys[0]).decrypt(stored.encode()).decode() == secret
    assert _sign_in(client, username, pyotp.TOTP(secret).now()) == (200, {})


@pytest.fixture
def new_key() -> Iterator[str]:
    """A second key, put first; the session's rows are rotated back to the old key afterwards."""
    old = get_settings().encryption_keys[0]
    new = Fernet.generate_key().decode()
    yield new
    with kefu_env(KEFU_ENCRYPTION_KEY=f"{old},{new}"):
        assert kefu_main(["secrets", "rotate"]) == 0


def test_rotation_keeps_old_rows_readable_and_moves_them_to_the_new_key(
    client: TestClient, session: Session, db_url: str, new_key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    old = get_settings().encryption_keys[0]
    username, user_id = make_user(session)
    secret = _enrol(client, username)
    before = _stored(session, user_id)
    with kefu_env(KEFU_ENCRYPTION_KEY=f"{new_key},{old}"):
        # Listed second, the old key still opens the row: sign-in works before any rotation.
        assert _sign_in(client, username, pyotp.TOTP(secret).now()) == (200, {})
        capsys.readouterr()
        assert kefu_main(["secrets", "check"]) == 0
        assert "run `kefu secrets rotate`" in capsys.readouterr().out
        assert kefu_main(["secrets", "rotate"]) == 0
        out = capsys.readouterr().out
        assert "under an older key" in out and " 0 re-encrypted" not in out and "re-encrypted with" in out
        after = _stored(session, user_id)
        assert after != before
        assert Fernet(new_key).decrypt(after.encode()).decode() == secret
        assert kefu_main(["secrets", "check"]) == 0
        assert "0 under an older key" in capsys.readouterr().out
    with kefu_env(KEFU_ENCRYPTION_KEY=new_key):  # the old key dropped: the rotated row needs only the new one
        assert _sign_in(client, username, pyotp.TOTP(secret).at(time.time() + 30)) == (200, {})


def test_a_wrong_key_is_a_clear_error(
    client: TestClient, session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    username, _ = make_user(session)
    secret = _enrol(client, username)
    admin = token(new_client(client), make_user(session, Role.admin)[0])
    with kefu_env(KEFU_ENCRYPTION_KEY=Fernet.generate_key().decode()):
        status, error = _sign_in(client, username, pyotp.TOTP(secret).now())
        assert status == 503 and error["code"] == "encryption_key_mismatch"
        assert "users.totp_secret" in error["message"] and "KEFU_ENCRYPTION_KEY" in error["message"]
        assert "Traceback" not in error["message"] and secret not in error["message"]
        # Only the secret's own uses fail: accounts are still listed (the column is read when needed).
        assert new_client(client).get("/api/v1/users", headers=bearer(admin)).status_code == 200
        capsys.readouterr()
        assert kefu_main(["secrets", "rotate"]) == 1
        out = capsys.readouterr()
        assert "unreadable (rows " in out.out
        assert "list the key they were encrypted with" in out.err and "Traceback" not in out.err
    assert _sign_in(client, username, pyotp.TOTP(secret).at(time.time() + 30)) == (200, {})  # key restored


def test_a_lost_key_is_survived_by_resetting_mfa(client: TestClient, session: Session, db_url: str) -> None:
    username, _ = make_user(session)
    secret = _enrol(client, username)
    with kefu_env(KEFU_ENCRYPTION_KEY=Fernet.generate_key().decode(), DATABASE_URL=db_url):
        assert _sign_in(client, username, pyotp.TOTP(secret).now())[0] == 503
        assert kefu_main(["users", "reset-mfa", username]) == 0
        assert token(new_client(client), username)  # no code asked: enrol again with the new key
        assert _enrol(client, username) != secret


# Migration 0016 --------------------------------------------------------------------------------------


def _before_0016() -> str:
    down = ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision("0016").down_revision
    assert isinstance(down, str)
    return down


def _width(conn: Connection) -> int | None:
    """The declared width of users.totp_secret."""
    declared = {c["name"]: c["type"] for c in inspect(conn).get_columns("users")}["totp_secret"]
    assert isinstance(declared, String)
    return declared.length


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database of each kind."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


def test_0016_encrypts_stored_secrets_and_the_downgrade_decrypts_them(empty_url: str) -> None:
    previous = _before_0016()
    upgrade(empty_url, previous)
    engine = make_engine(empty_url)
    pg = engine.dialect.name == "postgresql"
    now = "now()" if pg else "CURRENT_TIMESTAMP"
    languages = "'[\"en\"]'::json" if pg else "'[\"en\"]'"
    plain = pyotp.random_base32()
    with engine.begin() as conn:
        for user_id, secret in ((1, plain), (2, None)):
            conn.execute(
                text(
                    "INSERT INTO users (id, username, password_hash, role, languages, max_concurrent_chats, "
                    "online, active, created_at, totp_secret) "
                    f"VALUES (:id, :name, 'x', 'admin', {languages}, 3, false, true, {now}, :secret)"
                ),
                {"id": user_id, "name": f"u{user_id}", "secret": secret},
            )
        conn.execute(
            text(
                "INSERT INTO auth_sessions (id, user_id, created_at, expires_at, enrolment_only) "
                f"VALUES ('s1', 1, {now}, {now}, false)"
            )
        )
        conn.execute(text("INSERT INTO mfa_recovery_codes (user_id, code_hash) VALUES (1, 'h1')"))
    upgrade(empty_url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT totp_secret FROM users WHERE id = 1")).scalar()
        assert conn.execute(text("SELECT totp_secret FROM users WHERE id = 2")).scalar() is None
        # SQLite swaps the column rather than rebuilding the table: nothing cascaded away.
        assert conn.execute(text("SELECT count(*) FROM auth_sessions")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM mfa_recovery_codes")).scalar() == 1
        width = _width(conn)
    assert isinstance(stored, str) and plain not in stored and (width or 0) >= len(stored)
    assert Fernet(get_settings().encryption_keys[0]).decrypt(stored.encode()).decode() == plain
    with Session(engine) as session:
        user = session.get(User, 1)
        assert user is not None and user.totp_secret == plain
    command.downgrade(alembic_config(empty_url), previous)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT totp_secret FROM users WHERE id = 1")).scalar() == plain
        width = _width(conn)
    assert width == 64
    engine.dispose()
