"""The outbox on both databases: durable enqueue, delivery to the fake Zoho, backoff, replay, CLI."""

from __future__ import annotations

import argparse
import time
import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crm_bridge.connectors.base import ConnectorError, ContactPayload, TicketPayload
from crm_bridge.connectors.zoho import ZohoConnector
from crm_bridge.contacts import service as contacts
from crm_bridge.contacts.crm import contact_payload
from crm_bridge.feedback import service as feedback
from crm_bridge.feedback.crm import feedback_payload
from crm_bridge.outbox import service as outbox
from crm_bridge.outbox.models import LinkKind, OutboxItem, OutboxStatus
from crm_bridge.outbox.worker import OutboxWorker
from crm_bridge.tickets import service as tickets
from crm_bridge.tickets.crm import ticket_payload
from kefu.outbox_cli import add_outbox_commands
from kefu_core.db import make_engine, utcnow
from tests.fakes.zoho_server import FakeZoho
from tests.helpers import kefu_env


@pytest.fixture
def name() -> str:
    """A connector name of this test only (the database is shared by the whole run)."""
    return f"zoho-{uuid.uuid4().hex[:8]}"


def _contact(session: Session) -> ContactPayload:
    tag = uuid.uuid4().hex[:8]
    contact = contacts.create(session, data={"name": f"Ada {tag}", "email": f"ada-{tag}@example.com"})
    return contact_payload(contact)


def _ticket(session: Session, contact: ContactPayload, subject: str = "Refund not received") -> TicketPayload:
    ticket, _ = tickets.create(session, data={"subject": subject, "contact_id": int(contact.local_id)})
    session.flush()
    return ticket_payload(ticket)


def _items(session: Session, name: str) -> list[OutboxItem]:
    session.expire_all()
    return outbox.list_items(session, connector=name)


def test_enqueue_is_part_of_the_callers_transaction(session: Session, name: str) -> None:
    outbox.enqueue(session, connector=name, operation="upsert_contact", payload=_contact(session))
    session.rollback()
    assert _items(session, name) == []
    with pytest.raises(TypeError):
        outbox.enqueue(session, connector=name, operation="create_ticket", payload=_contact(session))
    session.rollback()


def test_committed_items_are_delivered_with_the_contact_created_first(
    session: Session, zoho: ZohoConnector, fake_zoho: FakeZoho, name: str
) -> None:
    contact = _contact(session)
    ticket = _ticket(session, contact)
    rating = feedback.create(session, data={"rating": 5, "nps": 10, "contact_id": int(contact.local_id)})
    outbox.enqueue(session, connector=name, operation="create_ticket", payload=ticket, contact=contact)
    outbox.enqueue(
        session, connector=name, operation="write_feedback", payload=feedback_payload(rating), contact=contact
    )
    session.commit()

    counts = outbox.process_due(session, zoho, connector_name=name)

    assert (counts.delivered, counts.retrying, counts.dead) == (2, 0, 0)
    case_item, note_item = _items(session, name)
    assert {case_item.status, note_item.status} == {OutboxStatus.done}
    zoho_contact = outbox.linked_id(session, name, LinkKind.contact, contact.local_id)
    assert zoho_contact in fake_zoho.records["Contacts"]
    assert outbox.linked_id(session, name, LinkKind.ticket, ticket.number) == case_item.external_id
    assert fake_zoho.records["Cases"][case_item.external_id]["Related_To"] == {"id": zoho_contact}
    assert fake_zoho.records["Notes"][note_item.external_id]["Parent_Id"]["id"] == zoho_contact
    assert len(fake_zoho.api_calls("/Contacts/upsert")) == 1  # the note reused the link
    assert outbox.process_due(session, zoho, connector_name=name).delivered == 0


def test_failures_back_off_exponentially_and_nothing_is_lost(
    session: Session, zoho: ZohoConnector, fake_zoho: FakeZoho, name: str
) -> None:
    payloads = [_contact(session) for _ in range(3)]
    for payload in payloads:
        outbox.enqueue(session, connector=name, operation="upsert_contact", payload=payload)
    session.commit()
    fake_zoho.down = True
    now = utcnow()
    delays: list[list[float]] = []
    for attempt in (1, 2, 3, 4):
        assert outbox.process_due(session, zoho, connector_name=name, now=now).retrying == 3
        items = _items(session, name)
        assert all(i.attempts == attempt and i.status is OutboxStatus.pending for i in items)
        assert all("HTTP 503" in (i.last_error or "") and "@" not in (i.last_error or "") for i in items)
        delays.append([(i.next_attempt_at - now).total_seconds() for i in items])
        assert outbox.process_due(session, zoho, connector_name=name, now=now).retrying == 0  # not due yet
        now = max(i.next_attempt_at for i in items)
    for attempt, row in enumerate(delays, start=1):
        expected = 30 * 2 ** (attempt - 1)
        assert all(0.9 * expected <= d <= 1.1 * expected for d in row), (attempt, row)

    fake_zoho.down = False
    assert outbox.process_due(session, zoho, connector_name=name, now=now).delivered == 3
    emails = {r["Email"] for r in fake_zoho.records["Contacts"].values()}
    assert emails == {p.email for p in payloads}


def test_backoff_is_capped_at_an_hour() -> None:
    assert timedelta(minutes=54) <= outbox.backoff(12) <= timedelta(minutes=66)


def test_dead_after_max_attempts_then_replayed_and_delivered(
    session: Session, zoho: ZohoConnector, fake_zoho: FakeZoho, name: str
) -> None:
    outbox.enqueue(session, connector=name, operation="upsert_contact", payload=_contact(session))
    session.commit()
    fake_zoho.fail_next(100, 500)
    now = utcnow()
    for _ in range(3):
        outbox.process_due(session, zoho, connector_name=name, now=now, max_attempts=3)
        now += timedelta(hours=2)
    (item,) = _items(session, name)
    assert (item.status, item.attempts) == (OutboxStatus.dead, 3)
    assert outbox.process_due(session, zoho, connector_name=name, now=now).delivered == 0  # dead stays put

    fake_zoho.reset()
    assert outbox.replay(session, connector=name) == 1
    session.commit()
    (item,) = _items(session, name)
    assert (item.status, item.attempts) == (OutboxStatus.pending, 0)
    assert outbox.process_due(session, zoho, connector_name=name).delivered == 1
    assert _items(session, name)[0].status is OutboxStatus.done
    assert outbox.replay(session, [item.id]) == 0  # a delivered item is never sent twice


def test_non_retryable_error_is_dead_at_once(
    session: Session,
    zoho: ZohoConnector,
    fake_zoho: FakeZoho,
    name: str,
    client: TestClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    outbox.enqueue(session, connector=name, operation="upsert_contact", payload=_contact(session))
    session.commit()
    fake_zoho.fail_next(1, 400)
    counts = outbox.process_due(session, zoho, connector_name=name)
    (item,) = _items(session, name)
    assert (counts.dead, item.status, item.attempts) == (1, OutboxStatus.dead, 1)
    assert item.last_error == "zoho contact upsert: HTTP 400 INVALID_DATA"
    session.commit()
    # Issue 22 (low): a dead item is an ERROR in the log and a warning in /healthz, not a silent stop.
    assert any(r.levelname == "ERROR" and f"outbox item {item.id}" in r.getMessage() for r in caplog.records)
    health = client.get("/healthz").json()
    assert health["parts"]["outbox"]["dead"] >= 1 and "outbox" not in health["failing"]
    assert "kefu outbox replay" in health["parts"]["outbox"]["warning"]


def test_an_update_waits_for_its_create_and_is_applied_after_it(
    session: Session, zoho: ZohoConnector, fake_zoho: FakeZoho, name: str
) -> None:
    contact = _contact(session)
    ticket = _ticket(session, contact)
    outbox.enqueue(session, connector=name, operation="create_ticket", payload=ticket, contact=contact)
    changed = TicketPayload(**(ticket.to_dict() | {"status": "pending", "priority": "urgent"}))
    outbox.enqueue(session, connector=name, operation="update_ticket", payload=changed, contact=contact)
    session.commit()
    fake_zoho.fail_next(1, 503)

    first = outbox.process_due(session, zoho, connector_name=name)
    assert (first.retrying, first.deferred, first.delivered) == (1, 1, 0)
    create, update = _items(session, name)
    assert update.attempts == 0 and update.next_attempt_at == create.next_attempt_at

    second = outbox.process_due(session, zoho, connector_name=name, now=create.next_attempt_at)
    assert second.delivered == 2
    (case,) = fake_zoho.records["Cases"].values()
    assert (case["Status"], case["Priority"]) == ("On Hold", "High")
    assert [c["method"] for c in fake_zoho.api_calls("/Cases")] == ["POST", "PUT"]


def test_malformed_payload_goes_dead_without_stopping_the_rest(
    session: Session, zoho: ZohoConnector, fake_zoho: FakeZoho, name: str
) -> None:
    session.add(OutboxItem(connector=name, operation="upsert_contact", payload={"contact": {"oops": 1}}))
    outbox.enqueue(session, connector=name, operation="upsert_contact", payload=_contact(session))
    session.commit()
    counts = outbox.process_due(session, zoho, connector_name=name)
    assert (counts.dead, counts.delivered) == (1, 1)
    assert _items(session, name)[0].last_error == "malformed payload: TypeError"


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="kefu")
    add_outbox_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_cli_lists_and_replays_stuck_items(
    session: Session,
    db_url: str,
    zoho: ZohoConnector,
    fake_zoho: FakeZoho,
    name: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for _ in range(2):
        outbox.enqueue(session, connector=name, operation="upsert_contact", payload=_contact(session))
    session.commit()
    fake_zoho.fail_next(2, 400)
    outbox.process_due(session, zoho, connector_name=name)
    first, second = _items(session, name)

    monkeypatch.setenv("COLUMNS", "200")  # rich folds long cells at the default 80 columns
    with kefu_env(DATABASE_URL=db_url):
        assert _cli(["outbox", "list", "--status", "dead", "--connector", name]) == 0
        listing = capsys.readouterr().out
        assert str(first.id) in listing and str(second.id) in listing and "INVALID_DATA" in listing
        assert _cli(["outbox", "replay", str(first.id)]) == 0
        assert "1 item(s) reset" in capsys.readouterr().out
        assert _cli(["outbox", "replay", "--all-dead", "--connector", name]) == 0
        assert "1 item(s) reset" in capsys.readouterr().out
        assert _cli(["outbox", "replay"]) == 2
        assert _cli(["outbox", "list", "--status", "dead", "--connector", name]) == 0
        assert "no outbox items" in capsys.readouterr().out

    assert outbox.process_due(session, zoho, connector_name=name).delivered == 2


class _Broken:
    """A connector whose every call hits a bug (not a ConnectorError)."""

    def upsert_contact(self, contact: ContactPayload) -> str:
        raise RuntimeError("bug")

    def __getattr__(self, attr: str) -> object:
        raise ConnectorError("not used", retryable=False)


def test_worker_delivers_in_the_background_and_survives_errors(
    db_url: str, session: Session, zoho: ZohoConnector, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    item = outbox.enqueue(session, connector=name, operation="upsert_contact", payload=_contact(session))
    session.commit()
    engine = make_engine(db_url)
    factory = sessionmaker(engine, expire_on_commit=False)
    broken = OutboxWorker(factory, _Broken(), connector_name=name, interval_s=0.05)  # type: ignore[arg-type]
    broken.start()
    time.sleep(0.3)
    assert broken.running
    broken.stop()
    assert not broken.running
    assert "delivery round failed" in caplog.text

    worker = OutboxWorker(factory, zoho, connector_name=name, interval_s=0.05)
    worker.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        session.expire_all()
        if (
            session.scalars(select(OutboxItem.status).where(OutboxItem.id == item.id)).one()
            is OutboxStatus.done
        ):
            break
        time.sleep(0.05)
    worker.stop()
    engine.dispose()
    assert (
        session.scalars(select(OutboxItem.status).where(OutboxItem.id == item.id)).one() is OutboxStatus.done
    )
