"""Migrations build the schema the models describe, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from crm_bridge.models_registry import Base
from kefu_core.db import make_engine


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
