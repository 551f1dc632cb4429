"""`kefu users create … --password-stdin` as an operator runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from crm_bridge.users import service
from crm_bridge.users.models import Role
from kefu_core.db import make_engine

KEFU = str(Path(sys.executable).parent / "kefu")


def _run(tmp_path: Path, *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "KEFU_VAR_DIR": str(tmp_path)}
    return subprocess.run(
        [KEFU, "users", "create", *args], input=stdin, text=True, capture_output=True, env=env
    )


def test_create_admin_from_stdin(tmp_path: Path) -> None:
    done = _run(
        tmp_path, "--role", "admin", "--username", "alice", "--languages", "en,zh", "--password-stdin",
        stdin="a long passphrase\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "created admin 'alice'" in done.stdout
    assert "a long passphrase" not in done.stdout + done.stderr
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with Session(engine) as session:
        user = service.get_by_username(session, "alice")
        assert user is not None and user.role is Role.admin and user.languages == ["en", "zh"]
        assert service.authenticate(session, username="alice", password="a long passphrase") is not None
    engine.dispose()


def test_refuses_duplicates_short_passwords_and_unknown_languages(tmp_path: Path) -> None:
    ok = _run(tmp_path, "--role", "agent", "--username", "bo", "--password-stdin", stdin="long enough pw\n")
    assert ok.returncode == 0
    dup = _run(tmp_path, "--role", "agent", "--username", "bo", "--password-stdin", stdin="long enough pw\n")
    assert dup.returncode == 1 and "already exists" in dup.stderr
    short = _run(tmp_path, "--role", "agent", "--username", "cy", "--password-stdin", stdin="short\n")
    assert short.returncode == 1 and "at least 12" in short.stderr
    lang = _run(
        tmp_path,
        "--role",
        "agent",
        "--username",
        "di",
        "--languages",
        "fr",
        "--password-stdin",
        stdin="x" * 9,
    )
    assert lang.returncode == 2 and "fr" in lang.stderr


def _kefu(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "KEFU_VAR_DIR": str(tmp_path)}
    return subprocess.run([KEFU, "users", *args], text=True, capture_output=True, env=env)


def test_unlock_and_reset_mfa(tmp_path: Path) -> None:
    import pyotp

    from crm_bridge.users import mfa, sessions, throttle
    from tests.helpers import kefu_env

    assert _run(tmp_path, "--role", "admin", "--username", "eve@example.com", "--password-stdin",
                stdin="a long passphrase\n").returncode == 0  # fmt: skip
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    # The keyed hashes depend on the secret key under the CLI's var folder: use the same one.
    with kefu_env(KEFU_VAR_DIR=str(tmp_path)), Session(engine) as session:
        for _ in range(5):
            throttle.record_failure(session, username="eve@example.com", address="10.0.0.9")
        session.commit()
        with pytest.raises(throttle.LoginLocked):
            throttle.check(session, username="eve@example.com", address="10.0.0.8")
        unlocked = _kefu(tmp_path, "unlock", "eve@example.com")
        assert unlocked.returncode == 0 and "5 recent failed sign-ins forgotten" in unlocked.stdout, (
            unlocked.stderr
        )
        throttle.check(session, username="eve@example.com", address="10.0.0.8")  # no longer locked

        user = service.get_by_username(session, "eve@example.com")
        assert user is not None
        mfa.begin_setup(session, user=user)
        mfa.enable(session, user=user, code=pyotp.TOTP(user.totp_secret or "").now())
        live = sessions.create(session, user=user, ttl_s=600, user_agent=None)
        session.commit()
        reset = _kefu(tmp_path, "reset-mfa", "eve@example.com")
        assert reset.returncode == 0 and "1 sessions ended" in reset.stdout, reset.stderr
        session.expire_all()
        assert not user.mfa_enabled and user.totp_secret is None
        assert sessions.active(session, live.id) is None
        assert _kefu(tmp_path, "reset-mfa", "nobody@example.com").returncode == 1
    engine.dispose()


def test_cli_changes_are_in_the_audit_log(tmp_path: Path) -> None:
    """Operators act outside any route: their account changes are recorded with the OS user as actor."""
    import getpass

    from sqlalchemy import select

    from crm_bridge.audit.models import AuditEntry

    assert _run(tmp_path, "--role", "admin", "--username", "ops@example.com", "--password-stdin",
                stdin="a long passphrase\n").returncode == 0  # fmt: skip
    assert _kefu(tmp_path, "unlock", "ops@example.com").returncode == 0
    assert _kefu(tmp_path, "reset-mfa", "ops@example.com").returncode == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with Session(engine) as session:
        user = service.get_by_username(session, "ops@example.com")
        assert user is not None
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    engine.dispose()
    assert [(e.action, e.target_type, e.target_id) for e in entries] == [
        ("user.create", "user", str(user.id)),
        ("user.unlock", "user", str(user.id)),
        ("user.mfa_reset", "user", str(user.id)),
    ]
    assert {(e.actor_id, e.actor_role, e.actor_username) for e in entries} == {
        (None, "cli", getpass.getuser())
    }
    assert all(e.details["via"] == "cli" for e in entries)
    assert entries[0].details["role"] == "admin" and entries[1].details == {"cleared": 0, "via": "cli"}
    assert "ops@example.com" not in str([e.details for e in entries])
