"""The closed loop: a rating at or below KEFU_FOLLOW_UP_RATING opens one follow-up ticket with the
conversation attached, in the rating's own transaction; none above it or when turned off."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_bridge.contacts.models import Contact
from crm_bridge.conversations.models import Conversation
from crm_bridge.feedback import follow_up
from crm_bridge.feedback import service as feedback
from crm_bridge.feedback.loop_models import FollowUp
from crm_bridge.tickets.models import Priority, Ticket, TicketStatus, format_number
from tests.helpers import kefu_env


def _conversation(session: Session) -> Conversation:
    contact = Contact(name=f"follow-{uuid.uuid4().hex[:6]}")
    session.add(contact)
    session.flush()
    conversation = Conversation(contact_id=contact.id, channel="rest", language="en")
    session.add(conversation)
    session.commit()
    return conversation


def _follow_ups(session: Session, feedback_id: int) -> list[Ticket]:
    return list(
        session.scalars(
            select(Ticket)
            .join(FollowUp, FollowUp.ticket_id == Ticket.id)
            .where(FollowUp.feedback_id == feedback_id)
        )
    )


def test_a_low_rating_through_the_api_opens_one_ticket(
    agent_client: tuple[TestClient, int], session: Session
) -> None:
    api, _ = agent_client
    conversation = _conversation(session)
    created = api.post(
        "/api/v1/feedback",
        json={
            "rating": 2,
            "nps": 4,
            "comment": "Nobody answered my question",
            "conversation_id": conversation.id,
        },
    )
    assert created.status_code == 201, created.text
    feedback_id = created.json()["id"]
    session.expire_all()
    tickets = _follow_ups(session, feedback_id)
    assert len(tickets) == 1
    ticket = tickets[0]
    assert ticket.conversation_id == conversation.id
    assert ticket.contact_id == conversation.contact_id
    assert ticket.priority is Priority.high and ticket.status is TicketStatus.new
    assert ticket.subject == "Follow-up: customer rated 2/5"
    assert "Nobody answered my question" in ticket.description and conversation.id in ticket.description
    # The ticket is an ordinary ticket: the API shows it.
    shown = api.get(f"/api/v1/tickets/{format_number(ticket.id)}")
    assert shown.status_code == 200 and shown.json()["conversation_id"] == conversation.id


def test_exactly_once_per_rating(session: Session) -> None:
    conversation = _conversation(session)
    rating = feedback.create(session, data={"rating": 1, "conversation_id": conversation.id})
    assert follow_up.open_if_low(session, rating) is None  # asked again: the first ticket stands
    session.commit()
    assert len(_follow_ups(session, rating.id)) == 1
    key = f"feedback-follow-up:{rating.id}"
    assert session.scalar(select(func.count()).select_from(Ticket).where(Ticket.idempotency_key == key)) == 1


def test_no_ticket_above_the_threshold_or_when_off(session: Session) -> None:
    conversation = _conversation(session)
    above = feedback.create(session, data={"rating": 3, "conversation_id": conversation.id})
    with kefu_env(KEFU_FOLLOW_UP_RATING="0"):
        off = feedback.create(session, data={"rating": 1, "conversation_id": conversation.id})
    with kefu_env(KEFU_FOLLOW_UP_RATING="3"):
        raised = feedback.create(session, data={"rating": 3, "conversation_id": conversation.id})
        four = feedback.create(session, data={"rating": 4, "conversation_id": conversation.id})
    session.commit()
    assert _follow_ups(session, above.id) == []
    assert _follow_ups(session, off.id) == []
    assert len(_follow_ups(session, raised.id)) == 1
    assert _follow_ups(session, four.id) == []


def test_same_transaction_as_the_rating(session: Session) -> None:
    conversation = _conversation(session)
    rating = feedback.create(session, data={"rating": 1, "conversation_id": conversation.id})
    key = f"feedback-follow-up:{rating.id}"
    session.rollback()  # the rating is not stored: neither is its ticket
    assert session.scalar(select(func.count()).select_from(Ticket).where(Ticket.idempotency_key == key)) == 0
    assert (
        session.scalar(select(func.count()).select_from(FollowUp).where(FollowUp.feedback_id == rating.id))
        == 0
    )


def test_a_rating_without_conversation_still_gets_a_ticket(session: Session) -> None:
    rating = feedback.create(session, data={"rating": 1, "comment": "bad"})
    session.commit()
    (ticket,) = _follow_ups(session, rating.id)
    assert ticket.conversation_id is None and "Conversation:" not in ticket.description
