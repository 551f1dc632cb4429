"""Alembic environment: kefu's settings give the URL, the models registry gives the tables."""

from __future__ import annotations

from alembic import context

from crm_bridge.models_registry import Base
from kefu_core.db import make_engine

config = context.config
url = config.get_main_option("sqlalchemy.url")


def run_offline() -> None:
    """Emit SQL without a connection."""
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Migrate through a live connection (batch mode so SQLite can alter tables)."""
    assert url
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
