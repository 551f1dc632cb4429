"""Migrations build the schema the models describe, on SQLite and PostgreSQL."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm_bridge.contacts.models import Contact
from crm_bridge.migrate import alembic_config, upgrade
from crm_bridge.models_registry import Base
from crm_bridge.tickets.models import Ticket
from crm_bridge.users.models import Role, User
from kefu_core.db import make_engine, utcnow
from knowledge_base.models import FaqEntry
from tests.crm_bridge.databases import fresh_database


def test_migrated_schema_matches_models(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        tables = set(inspect(conn).get_table_names())
    engine.dispose()
    assert diff == []
    assert {"contacts", "conversations", "messages", "faq_entries", "faq_variants", "users"} <= tables


def test_sqlite_runs_with_wal_and_foreign_keys(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_seed_is_idempotent(db_url: str) -> None:
    from kefu.bootstrap import prepare_database

    again = prepare_database(db_url)
    assert again.faqs_added == 0
    assert again.credentials_file is None


# Migration 0009: the database refuses what the API could not read back (issue 25) -------------------

BROKEN = [
    ("contacts", "tags", "'null'"),
    ("contacts", "attributes", "'[1]'"),
    ("contacts", "tier", "'gold'"),
    ("users", "languages", "'null'"),
    ("users", "role", "'root'"),
    ("faq_entries", "tags", "'{}'"),
    ("faq_entries", "status", "'gone'"),
    ("tickets", "status", "'lost'"),
    ("tickets", "priority", "'meh'"),
]


def _rows(session: Session) -> dict[str, object]:
    """One row in each guarded table, written through the ORM."""
    contact = Contact(name="Check")
    user = User(username=f"ck-{uuid.uuid4().hex[:8]}", password_hash="x", role=Role.agent, languages=["en"])
    entry = FaqEntry(question="Check?", answer="Yes.", language="en", tags=[])
    now = utcnow()
    ticket = Ticket(subject="Check", first_response_due_at=now, resolution_due_at=now)
    session.add_all([contact, user, entry, ticket])
    session.commit()
    return {"contacts": contact.id, "users": user.id, "faq_entries": entry.id, "tickets": ticket.id}


@pytest.mark.parametrize(("table", "column", "value"), BROKEN, ids=[f"{t}.{c}" for t, c, _ in BROKEN])
def test_the_database_refuses_a_value_the_api_cannot_read(
    session: Session, table: str, column: str, value: str
) -> None:
    row_id = _rows(session)[table]
    with pytest.raises(IntegrityError):
        session.execute(text(f"UPDATE {table} SET {column} = {value} WHERE id = :id"), {"id": row_id})
    session.rollback()


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database of each kind."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


def test_0009_repairs_rows_already_broken_then_downgrades(empty_url: str) -> None:
    upgrade(empty_url, "0008")
    engine = make_engine(empty_url)
    pg = engine.dialect.name == "postgresql"
    json_null = "'null'::json" if pg else "'null'"
    now = "now()" if pg else "CURRENT_TIMESTAMP"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO contacts (id, created_at, updated_at, tier, tags, attributes) "
                f"VALUES (1, {now}, {now}, 'gold', {json_null}, {json_null})"
            )
        )
        conn.execute(
            text(
                "INSERT INTO users (id, username, password_hash, role, languages, max_concurrent_chats, "
                "online, active, created_at) "
                f"VALUES (1, 'u', 'x', 'root', {json_null}, 3, false, true, {now})"
            )
        )
        conn.execute(
            text(
                "INSERT INTO faq_entries (id, question, answer, language, tags, status, version, created_at, "
                f"updated_at) VALUES ('f', 'q', 'a', 'en', {json_null}, 'gone', 1, {now}, {now})"
            )
        )
    upgrade(empty_url)
    with Session(engine) as session:
        contact = session.get(Contact, 1)
        assert contact is not None
        assert (contact.tier.value, contact.tags, contact.attributes) == ("standard", [], {})
        user = session.get(User, 1)
        assert user is not None
        assert (user.role, user.languages) == (Role.agent, ["en"])
        entry = session.get(FaqEntry, "f")
        assert entry is not None
        assert (entry.status.value, entry.tags) == ("draft", [])
    command.downgrade(alembic_config(empty_url), "0008")
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE contacts SET tier = 'gold', tags = {json_null} WHERE id = 1"))
    upgrade(empty_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT tier FROM contacts WHERE id = 1")).scalar() == "standard"
    engine.dispose()
