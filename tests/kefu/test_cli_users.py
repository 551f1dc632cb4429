"""`kefu users create … --password-stdin` as an operator runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
    assert short.returncode == 1 and "at least 8" in short.stderr
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
