"""Engines survive a database that dropped their connections (issue 22, low finding: pool_pre_ping)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from kefu_core.db import make_engine


@pytest.mark.postgres
def test_a_connection_the_server_dropped_is_replaced_at_checkout(postgres_url: str) -> None:
    # Issue 22 (low): without pre-ping, the first request after a database restart failed with a 500.
    engine = make_engine(postgres_url)
    with engine.connect() as conn:
        victim = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with make_engine(postgres_url, autocommit=True).connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": victim})
    with engine.connect() as conn:  # the pooled connection is dead; pre-ping replaces it
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != victim
    engine.dispose()
