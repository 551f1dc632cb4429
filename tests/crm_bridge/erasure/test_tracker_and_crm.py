"""The pieces of erasure outside kefu's database: the tracker store's URL (built as Rasa builds it) and
its deletion, and the Zoho connector's deletion of a contact, its cases and notes (fake Zoho)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Column, MetaData, String, Table, create_engine, insert, select

from crm_bridge.connectors.base import ConnectorError, ContactPayload, FeedbackPayload, TicketPayload
from crm_bridge.connectors.zoho import ZohoConnector, ZohoSettings
from crm_bridge.erasure import tracker
from kefu_core.settings import Settings
from tests.fakes.zoho_server import FakeZoho


def _settings(**values: str) -> Settings:
    return Settings(**values)  # type: ignore[arg-type]  # populate_by_name: field names work too


def test_tracker_url_follows_rasas_variables() -> None:
    assert tracker.tracker_url(_settings(rasa_tracker_db="")) is None
    sqlite = tracker.tracker_url(_settings(rasa_tracker_db="/var/kefu/rasa_tracker.db"))
    assert sqlite is not None and sqlite.get_backend_name() == "sqlite"
    assert sqlite.database == "/var/kefu/rasa_tracker.db"
    pg = tracker.tracker_url(
        _settings(
            rasa_tracker_dialect="postgresql",
            rasa_tracker_host="db.internal:6543",
            rasa_tracker_db="rasa",
            rasa_tracker_user="kefu",
            rasa_tracker_password="p@ss/word",
        )
    )
    assert pg is not None and pg.drivername == "postgresql+psycopg"
    assert (pg.host, pg.port, pg.database, pg.username, pg.password) == (
        "db.internal",
        6543,
        "rasa",
        "kefu",
        "p@ss/word",
    )
    whole = tracker.tracker_url(_settings(rasa_tracker_host="postgresql+psycopg://u:p@h:1/x"))
    assert whole is not None and whole.database == "x"


def test_forget_deletes_only_these_conversations(tmp_path: Path) -> None:
    path = tmp_path / "tracker.db"
    settings = _settings(rasa_tracker_db=str(path))
    assert tracker.forget(["c1"], settings) == 0 and not path.exists()  # no store yet: nothing created
    engine = create_engine(f"sqlite:///{path}")
    events = Table("events", MetaData(), Column("id", String, primary_key=True), Column("sender_id", String))
    events.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(events), [{"id": "1", "sender_id": "c1"}, {"id": "2", "sender_id": "c2"}])
    assert tracker.forget(["c1", "c3"], settings) == 1
    with engine.connect() as conn:
        assert conn.execute(select(events.c.sender_id)).scalars().all() == ["c2"]
    engine.dispose()


def test_an_unreachable_store_is_reported_without_its_url() -> None:
    settings = _settings(rasa_tracker_host="postgresql+psycopg://kefu:hunter2@127.0.0.1:1/rasa")
    with pytest.raises(tracker.TrackerUnavailable) as failed:
        tracker.forget(["c1"], settings)
    assert "hunter2" not in str(failed.value) and "OperationalError" in str(failed.value)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeZoho]:
    server = FakeZoho()
    server.start()
    yield server
    server.stop()


def test_zoho_erase_deletes_notes_cases_and_the_contact(fake: FakeZoho) -> None:
    settings = ZohoSettings(
        accounts_url=fake.url, api_domain=fake.url, client_id=fake.client_id,
        client_secret=fake.client_secret, refresh_token=fake.refresh_token,
    )  # fmt: skip
    zoho = ZohoConnector(settings)
    try:
        contact = zoho.upsert_contact(ContactPayload(local_id="1", name="Li Lei", email="li@example.com"))
        case = zoho.create_ticket(TicketPayload(number="T-000001", subject="Lamp", description="x"), contact)
        note = zoho.write_feedback(FeedbackPayload(rating=3, comment="meh"), contact)
        fake.fail_next(1, 503)
        with pytest.raises(ConnectorError) as failed:  # Zoho down: the outbox retries later
            zoho.erase_contact(contact, ticket_external_ids=[case], feedback_external_ids=[note])
        assert failed.value.retryable
        zoho.erase_contact(contact, ticket_external_ids=[case], feedback_external_ids=[note])
        assert fake.records == {"Contacts": {}, "Cases": {}, "Notes": {}}
        # A retry after a lost answer finds them gone: that is success, not an error.
        zoho.erase_contact(contact, ticket_external_ids=[case], feedback_external_ids=[note])
        deletes = [c for c in fake.api_calls() if c["method"] == "DELETE"]
        assert {c["status"] for c in deletes} == {200, 400, 503}
    finally:
        zoho.close()
