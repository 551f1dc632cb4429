"""Read-only sessions: no transaction left open on PostgreSQL, and writes elsewhere stay transactional."""

from __future__ import annotations

import uuid

from psycopg.pq import TransactionStatus
from sqlalchemy import select

from crm_bridge.contacts.models import Contact
from kefu_core import db
from tests.helpers import kefu_env


def test_reads_leave_no_transaction_and_writes_still_roll_back(db_url: str) -> None:
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    with kefu_env(DATABASE_URL=db_url):
        for _ in range(3):  # the same pooled connections serve reads and writes, in turn
            with db.read_session() as reader:
                assert reader.scalars(select(Contact).where(Contact.email == email)).first() is None
                raw = reader.connection().connection.dbapi_connection
                if db_url.startswith("postgresql"):
                    # Autocommit: the SELECT did not open a transaction, so no BEGIN/ROLLBACK round trips.
                    assert raw is not None
                    assert raw.info.transaction_status == TransactionStatus.IDLE
            with db.get_sessionmaker()() as writer:
                writer.add(Contact(name="Rolled back", email=email))
                writer.flush()
                assert writer.scalars(select(Contact).where(Contact.email == email)).first() is not None
                writer.rollback()
            with db.read_session() as reader:
                assert reader.scalars(select(Contact).where(Contact.email == email)).first() is None
        db.get_read_engine().dispose()
        db.get_engine().dispose()
