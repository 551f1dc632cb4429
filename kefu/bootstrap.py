"""Bring a database to the current schema and seed the demo data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from crm_bridge.migrate import upgrade
from crm_bridge.reports import facts
from crm_bridge.seed import seed_demo_users, seed_knowledge_base
from kefu_core.db import make_engine


@dataclass(frozen=True)
class Prepared:
    """What preparing the database did."""

    faqs_added: int
    credentials_file: Path | None
    facts_rebuilt: int | None = None


def prepare_database(url: str, *, seed: bool = True, demo_users: bool = True) -> Prepared:
    """Run migrations on `url`, build the report rollup of an upgraded database, and seed the demo
    knowledge base (and demo users) into an empty database."""
    upgrade(url)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            rebuilt = facts.rebuild_if_missing(session)
            session.commit()
            if not seed:
                return Prepared(0, None, rebuilt)
            added = seed_knowledge_base(session)
            creds = seed_demo_users(session) if demo_users else None
    finally:
        engine.dispose()
    return Prepared(added, creds, rebuilt)
