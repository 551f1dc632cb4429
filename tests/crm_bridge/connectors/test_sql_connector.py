"""The built-in connector over kefu's own tables, on both databases."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.orm import Session

from crm_bridge.connectors.base import (
    ConnectorError,
    ContactPayload,
    CRMConnector,
    FeedbackPayload,
    TicketPayload,
)
from crm_bridge.contacts import service as contacts
from crm_bridge.contacts.crm import contact_payload
from crm_bridge.contacts.models import Contact
from crm_bridge.feedback.models import Feedback
from crm_bridge.outbox import service as outbox
from crm_bridge.outbox.models import OutboxStatus
from crm_bridge.sql_connector import SqlConnector
from crm_bridge.tickets import service as tickets
from crm_bridge.tickets.crm import ticket_payload
from crm_bridge.tickets.models import Ticket, TicketStatus, parse_number
from kefu_core.db import utcnow


def _email() -> str:
    return f"grace-{uuid.uuid4().hex[:8]}@example.com"


def _phone() -> str:
    return f"+86139{uuid.uuid4().int % 10**8:08d}"


def test_is_a_crm_connector(session: Session) -> None:
    assert isinstance(SqlConnector(session), CRMConnector)


def test_find_contact_by_email_or_phone_skipping_merged_and_erased(session: Session) -> None:
    sql = SqlConnector(session)
    email, phone = _email(), _phone()
    contact = contacts.create(session, data={"name": "Grace", "email": email, "phone": phone})
    assert sql.find_contact(email=email.upper()) == str(contact.id)
    assert sql.find_contact(email=_email(), phone=phone) == str(contact.id)
    assert sql.find_contact(email=_email(), phone=_phone()) is None
    contact.erased_at = utcnow()
    session.flush()
    assert sql.find_contact(email=email) is None
    session.rollback()


def test_upsert_updates_by_local_id_or_match_and_creates_otherwise(session: Session) -> None:
    sql = SqlConnector(session)
    contact = contacts.create(session, data={"name": "Grace", "email": _email()})
    same = sql.upsert_contact(ContactPayload(local_id=str(contact.id), name="Grace Hopper", tier="vip"))
    assert same == str(contact.id)
    assert (contact.name, contact.tier.value) == ("Grace Hopper", "vip")
    assert sql.upsert_contact(ContactPayload(local_id="", email=contact.email)) == str(contact.id)
    created = sql.upsert_contact(ContactPayload(local_id="", name="New", email=_email(), language="zh"))
    row = session.get(Contact, int(created))
    assert row is not None and row.preferred_language == "zh" and created != same
    session.commit()


def test_tickets_resolve_to_local_numbers_and_updates_follow_the_workflow(session: Session) -> None:
    sql = SqlConnector(session)
    contact = contacts.create(session, data={"email": _email()})
    ticket, _ = tickets.create(session, data={"subject": "Login fails", "contact_id": contact.id})
    session.flush()
    payload = ticket_payload(ticket)
    assert sql.create_ticket(payload, str(contact.id)) == ticket.number

    new_number = sql.create_ticket(TicketPayload(number="X-1", subject="From elsewhere"), str(contact.id))
    created = session.get(Ticket, parse_number(new_number))
    assert created is not None and created.contact_id == contact.id and created.subject == "From elsewhere"

    sql.update_ticket(ticket.number, TicketPayload(**(payload.to_dict() | {"status": "resolved"})))
    assert ticket.status is TicketStatus.resolved and ticket.resolved_at is not None
    sql.update_ticket(ticket.number, TicketPayload(**(payload.to_dict() | {"status": "closed"})))
    sql.update_ticket(ticket.number, TicketPayload(**(payload.to_dict() | {"status": "closed"})))  # no-op
    with pytest.raises(ConnectorError) as err:
        sql.update_ticket(ticket.number, TicketPayload(**(payload.to_dict() | {"status": "open"})))
    assert err.value.retryable is False and "transition_not_allowed" in str(err.value)
    with pytest.raises(ConnectorError):
        sql.update_ticket("T-999999999", payload)
    session.commit()


def test_feedback_resolves_to_the_local_row_or_is_stored(session: Session) -> None:
    sql = SqlConnector(session)
    contact = contacts.create(session, data={"email": _email()})
    first = sql.write_feedback(FeedbackPayload(rating=4, comment="ok"), str(contact.id))
    row = session.get(Feedback, int(first))
    assert row is not None and (row.rating, row.contact_id) == (4, contact.id)
    assert sql.write_feedback(FeedbackPayload(rating=4, local_id=first), None) == first
    with pytest.raises(ConnectorError):
        sql.write_feedback(FeedbackPayload(rating=3, ticket_number="T-999999999"), None)
    session.rollback()


def test_the_outbox_can_deliver_through_the_sql_connector(session: Session) -> None:
    name = f"sql-{uuid.uuid4().hex[:8]}"
    contact = contact_payload(contacts.create(session, data={"name": "Grace", "email": _email()}))
    outbox.enqueue(
        session,
        connector=name,
        operation="create_ticket",
        contact=contact,
        payload=TicketPayload(number="EXT-1", subject="Imported"),
    )
    session.commit()
    counts = outbox.process_due(session, SqlConnector(session), connector_name=name)
    (item,) = outbox.list_items(session, connector=name)
    assert counts.delivered == 1 and item.status is OutboxStatus.done
    created = session.get(Ticket, parse_number(item.external_id or ""))
    assert created is not None and created.contact_id == int(contact.local_id)
