"""Bring a database to the current schema and seed the demo data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from crm_bridge.migrate import upgrade
from crm_bridge.seed import seed_demo_users, seed_knowledge_base
from kefu_core.db import make_engine


@dataclass(frozen=True)
class Prepared:
    """What preparing the database did."""

    faqs_added: int
    credentials_file: Path | None


def prepare_database(url: str, *, seed: bool = True, demo_users: bool = True) -> Prepared:
    """Run migrations on `url`; seed the demo knowledge base (and demo users) into an empty database."""
    upgrade(url)
    if not seed:
        return Prepared(0, None)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            added = seed_knowledge_base(session)
            creds = seed_demo_users(session) if demo_users else None
    finally:
        engine.dispose()
    return Prepared(added, creds)
