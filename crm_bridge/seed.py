"""Demo data for a development install: the shop's knowledge base and two demo accounts."""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_bridge.users import service as users
from crm_bridge.users.models import Role, User
from kefu_core.paths import var_dir
from knowledge_base import curation
from knowledge_base import service as kb
from knowledge_base.models import FaqEntry


def seed_knowledge_base(session: Session, path: Path = kb.SEED_FILE) -> int:
    """Load the demo FAQ entries into an empty knowledge base; returns how many were added."""
    if session.scalar(select(func.count()).select_from(FaqEntry)):
        return 0
    created, _ = curation.import_rows(session, kb.read_jsonl(path), author_id=None)
    session.commit()
    return created


def seed_demo_users(session: Session) -> Path | None:
    """Create `admin` and `agent` with random passwords (written to var/, never a default password)."""
    if session.scalar(select(func.count()).select_from(User)):
        return None
    lines = []
    for username, role in (("admin", Role.admin), ("agent", Role.agent)):
        password = secrets.token_urlsafe(12)
        users.create(session, username=username, password=password, role=role, languages=["en", "zh"])
        lines.append(f"{username} ({role.value}): {password}")
    session.commit()
    path = var_dir() / "demo-credentials.txt"
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path
