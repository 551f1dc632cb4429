"""Escalation as state changes: escalate (queue, assign, offline ticket or decline), accept, resolve,
hand back, dispatch and release, with the system messages that tell the customer.

Database work only; the caller commits. Socket events are emitted on the session and go out after commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from crm_bridge.contacts.models import Contact, Tier
from crm_bridge.conversations import service as conversations
from crm_bridge.conversations.models import Conversation, ConversationStatus, Message, MessageRole
from crm_bridge.escalation.models import Escalation, Outcome, Reason
from crm_bridge.escalation.offline import business_hours, open_ticket, reply_by, ticket_for
from crm_bridge.escalation.queue import emit_queue, last_reason, position_and_wait, queued, wait_minutes
from crm_bridge.escalation.roster import agent_name, eligible_agents, loads, present_agents, speaks
from crm_bridge.escalation.triggers import automatic_trigger
from crm_bridge.feedback import surveys
from crm_bridge.feedback.loop_models import OfferedVia
from crm_bridge.realtime.events import emit, emit_message, emit_status
from crm_bridge.users.models import User
from kefu_core.db import utcnow
from kefu_core.errors import Conflict
from kefu_core.settings import get_settings
from kefu_core.texts import say, when

CS = ConversationStatus


class Forbidden(Conflict):
    """The conversation belongs to another agent."""

    status_code = 403
    code = "forbidden"


@dataclass
class Result:
    """What an escalation did (the endpoint's response)."""

    conversation_id: str
    escalated: bool
    outcome: Outcome
    status: CS
    queue_position: int | None = None
    estimated_wait_seconds: int | None = None
    ticket_number: str | None = None
    expected_reply_by: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON body of the contract."""
        return {
            "conversation_id": self.conversation_id,
            "escalated": self.escalated,
            "outcome": self.outcome.value,
            "status": self.status.value,
            "queue_position": self.queue_position,
            "estimated_wait_seconds": self.estimated_wait_seconds,
            "ticket_number": self.ticket_number,
            "expected_reply_by": self.expected_reply_by.isoformat() if self.expected_reply_by else None,
        }


def _system(session: Session, conversation: Conversation, text: str) -> Message:
    """A system message in the conversation, sent to its sockets."""
    message = conversations.add_message(
        session, conversation=conversation, role=MessageRole.system, text=text, language=conversation.language
    )
    emit_message(session, conversation, message)
    return message


def _offline(
    session: Session, conversation: Conversation, contact: Contact, reason: Reason, announce: bool
) -> Result:
    expected = reply_by(utcnow())
    ticket = ticket_for(session, conversation, contact, reason)
    if announce:
        _system(
            session,
            conversation,
            say(
                "offline",
                conversation.language,
                ticket=ticket.number,
                when=when(expected, get_settings().timezone),
            ),
        )
    session.add(
        Escalation(
            conversation_id=conversation.id, reason=reason.value, outcome="offline", ticket_id=ticket.id
        )
    )
    return Result(
        conversation.id, False, Outcome.offline, conversation.status, ticket_number=ticket.number,
        expected_reply_by=expected,
    )  # fmt: skip


def escalate(
    session: Session, *, conversation: Conversation, reason: Reason, note: str | None, announce: bool
) -> Result:
    """Hand the conversation to a human if policy, hours and agents allow; otherwise a ticket (or decline).

    `announce`: crm_bridge tells the customer itself (system messages); False when the Rasa action
    words the answer from the returned fields.
    """
    if conversation.status in (CS.queued, CS.agent):  # already with or waiting for a human
        position, wait = position_and_wait(session, conversation)
        outcome = Outcome.queued if conversation.status is CS.queued else Outcome.assigned
        return Result(conversation.id, True, outcome, conversation.status, position, wait)
    contact = session.get(Contact, conversation.contact_id)
    assert contact is not None
    if reason is Reason.ticket_status and contact.tier is not Tier.vip:
        session.add(
            Escalation(conversation_id=conversation.id, reason=reason.value, note=note, outcome="declined")
        )
        return Result(conversation.id, False, Outcome.declined, conversation.status)
    if not business_hours().is_open(utcnow()) or not eligible_agents(session, conversation.language):
        return _offline(session, conversation, contact, reason, announce)

    conversation.status = CS.queued
    conversation.queued_at = utcnow()
    conversation.resolved_at = None
    session.add(Escalation(conversation_id=conversation.id, reason=reason.value, note=note, outcome="queued"))
    session.flush()
    if get_settings().auto_assign:
        agent = eligible_agents(session, conversation.language)[0]
        assign(session, conversation, agent)
        return Result(conversation.id, True, Outcome.assigned, conversation.status)
    position, wait = position_and_wait(session, conversation)
    if announce:
        _system(
            session,
            conversation,
            say("queued", conversation.language, position=position, minutes=wait_minutes(wait)),
        )
    emit_status(session, conversation, queue_position=position, estimated_wait_seconds=wait)
    emit_queue(session)
    return Result(conversation.id, True, Outcome.queued, conversation.status, position, wait)


def assign(session: Session, conversation: Conversation, agent: User) -> None:
    """Give the conversation to `agent`, tell the customer, and move the queue."""
    was_queued_at = conversation.queued_at
    conversation.status = CS.agent
    conversation.assignee_id = agent.id
    conversation.queued_at = None
    session.flush()
    _system(session, conversation, say("assigned", conversation.language, agent=agent_name(agent)))
    emit_status(session, conversation, agent_name=agent_name(agent))
    _queue_moved(session, conversation.language, was_queued_at)


def _queue_moved(session: Session, language: str | None, left_at: datetime | None) -> None:
    """Everyone queued behind a conversation that left hears their new place."""
    if left_at is not None:
        for other in queued(session, language):
            if other.queued_at is not None and other.queued_at >= left_at:
                position, wait = position_and_wait(session, other)
                _system(
                    session,
                    other,
                    say("queued", other.language, position=position, minutes=wait_minutes(wait)),
                )
                emit_status(session, other, queue_position=position, estimated_wait_seconds=wait)
    emit_queue(session)


def check_owner(conversation: Conversation, user_id: int, is_admin: bool) -> None:
    """403 unless the conversation is this agent's (or the caller is an admin)."""
    if not is_admin and conversation.assignee_id not in (None, user_id):
        raise Forbidden("this conversation is assigned to another agent")


def accept(session: Session, *, conversation: Conversation, agent: User, is_admin: bool) -> None:
    """An agent takes a queued conversation (idempotent for the same agent)."""
    if conversation.status is CS.agent and conversation.assignee_id == agent.id:
        return
    check_owner(conversation, agent.id, is_admin)
    if conversation.status is not CS.queued and not (is_admin and conversation.status is CS.agent):
        raise Conflict(
            f"only a queued conversation can be accepted (this one is {conversation.status.value})"
        )
    if loads(session).get(agent.id, 0) >= agent.max_concurrent_chats and not is_admin:
        raise Conflict(f"you already have {agent.max_concurrent_chats} chats open (your limit)")
    if conversation.status is CS.queued and not _claimed(session, conversation, agent.id):
        raise Conflict("another agent has just accepted this conversation")
    assign(session, conversation, agent)


def _claimed(session: Session, conversation: Conversation, agent_id: int) -> bool:
    """Take a queued conversation in one conditional UPDATE: of two agents accepting at once, one wins (the
    other's UPDATE waits for the first to commit, then matches no row)."""
    taken = session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id, Conversation.status == CS.queued)
        .values(status=CS.agent, assignee_id=agent_id)
        .execution_options(synchronize_session=False)
    )
    return bool(taken.rowcount == 1)  # type: ignore[attr-defined]


def resolve(session: Session, *, conversation: Conversation, user_id: int, is_admin: bool) -> None:
    """Close the chat; the customer is asked to rate it."""
    check_owner(conversation, user_id, is_admin)
    if conversation.status not in (CS.agent, CS.queued):
        raise Conflict(
            f"only a chat with or waiting for an agent can be resolved (it is {conversation.status.value})"
        )
    left_at = conversation.queued_at
    _system(session, conversation, say("resolved", conversation.language))
    conversation.status = CS.resolved
    conversation.resolved_at = utcnow()
    conversation.queued_at = None
    session.flush()
    emit_status(session, conversation)
    emit(session, f"contact:{conversation.contact_id}", {"type": "csat"})
    if conversation.channel == "web":  # only the widget ("web") shows the stars (docs/reports.md)
        surveys.record_offer(session, conversation_id=conversation.id, via=OfferedVia.widget)
    _queue_moved(session, conversation.language, left_at)
    dispatch(session)


def handback(session: Session, *, conversation: Conversation, user_id: int, is_admin: bool) -> None:
    """Give the conversation back to the bot."""
    check_owner(conversation, user_id, is_admin)
    if conversation.status not in (CS.agent, CS.queued):
        raise Conflict(
            f"only a chat with or waiting for an agent can be handed back (it is {conversation.status.value})"
        )
    left_at = conversation.queued_at
    conversation.status = CS.bot
    conversation.assignee_id = None
    conversation.queued_at = None
    session.flush()
    _system(session, conversation, say("handback", conversation.language))
    emit_status(session, conversation)
    _queue_moved(session, conversation.language, left_at)
    dispatch(session)


def dispatch(session: Session) -> None:
    """With KEFU_AUTO_ASSIGN, give waiting conversations to free agents, oldest first."""
    if not get_settings().auto_assign:
        return
    for conversation in queued(session):
        agents = eligible_agents(session, conversation.language)
        if agents:
            assign(session, conversation, agents[0])


def auto_escalate(
    session: Session,
    conversation: Conversation,
    message: Message,
    *,
    bot_collecting: Callable[[], bool] = lambda: False,
) -> Result | None:
    """Escalate on an automatic trigger, once per conversation while a ticket from it is open.

    `bot_collecting` says whether the bot is in the middle of a form: a customer describing the
    broken parcel to the ticket form sounds negative, and taking them away would lose the ticket.
    """
    reason = automatic_trigger(session, conversation, message)
    if reason is None or open_ticket(session, conversation) is not None:
        return None
    if reason is Reason.negative_sentiment:
        if bot_collecting():
            return None
        _system(session, conversation, say("sorry", conversation.language))
    return escalate(session, conversation=conversation, reason=reason, note=None, announce=True)


def release_unstaffed(session: Session) -> int:
    """Queued conversations nobody can take any more (their language's last agent left, or business
    hours ended) become offline tickets, back with the bot, and the customer is told when to expect an
    answer. Called where it can matter (presence changes, queue reads, a queued customer writing, and the
    agent socket's check KEFU_AGENT_AWAY_SECONDS after a console closes); there is no periodic job."""
    waiting = queued(session)
    if not waiting:
        return 0
    closed = not business_hours().is_open(utcnow())
    online = present_agents(session)
    released = 0
    for conversation in waiting:
        if not closed and any(speaks(u, conversation.language) for u in online):
            continue
        reason = last_reason(session, conversation.id)
        contact = session.get(Contact, conversation.contact_id)
        assert contact is not None
        conversation.status = CS.bot
        conversation.queued_at = None
        session.flush()
        _offline(session, conversation, contact, Reason(reason or Reason.customer_request), announce=True)
        emit_status(session, conversation)
        released += 1
    if released:
        emit_queue(session)
    return released
