"""Escalation decided in one place: triggers, policy, queue, assignment, offline tickets, resolve, hand back.

Database work only; the caller commits. Socket events are emitted on the session and go out after commit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from crm_bridge.contacts.models import Contact, Tier
from crm_bridge.conversations import service as conversations
from crm_bridge.conversations.models import Conversation, ConversationStatus, Message, MessageRole
from crm_bridge.escalation.models import Escalation, Outcome, Reason
from crm_bridge.realtime.events import AGENTS, emit, emit_message, emit_status
from crm_bridge.tickets import service as tickets
from crm_bridge.tickets.models import Priority, Ticket, TicketStatus
from crm_bridge.users.models import User
from kefu_core.db import utcnow
from kefu_core.errors import Conflict
from kefu_core.hours import BusinessHours
from kefu_core.settings import get_settings
from kefu_core.texts import say, when

CS = ConversationStatus
TRANSCRIPT_LIMIT = 200


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


def business_hours() -> BusinessHours:
    """The configured opening hours."""
    settings = get_settings()
    return BusinessHours.parse(settings.business_hours, settings.timezone)


def speaks(user: User, language: str | None) -> bool:
    """An agent with no languages listed takes any; otherwise the conversation's language must be listed."""
    return not language or not user.languages or language in user.languages


def loads(session: Session) -> dict[int, int]:
    """Active chats per agent."""
    rows = session.execute(
        select(Conversation.assignee_id, func.count())
        .where(Conversation.status == CS.agent, Conversation.assignee_id.is_not(None))
        .group_by(Conversation.assignee_id)
    ).all()
    return {int(user_id): int(count) for user_id, count in rows if user_id is not None}


def present_agents(session: Session) -> list[User]:
    """Active agents who are online, and whose console (if they use one) was seen lately."""
    since = utcnow() - timedelta(seconds=get_settings().agent_away_seconds)
    stmt = select(User).where(
        User.online.is_(True),
        User.active.is_(True),
        or_(User.console_seen_at.is_(None), User.console_seen_at >= since),
    )
    return list(session.scalars(stmt))


def eligible_agents(session: Session, language: str | None) -> list[User]:
    """Online agents who speak `language` and are under their chat limit, least loaded first."""
    load = loads(session)
    online = present_agents(session)
    able = [u for u in online if speaks(u, language) and load.get(u.id, 0) < u.max_concurrent_chats]
    return sorted(able, key=lambda u: (load.get(u.id, 0), u.id))


def queued(session: Session, language: str | None = None) -> list[Conversation]:
    """The queue, first come first served (one language, or all)."""
    stmt = select(Conversation).where(Conversation.status == CS.queued)
    if language is not None:
        stmt = stmt.where(Conversation.language == language)
    return list(session.scalars(stmt.order_by(Conversation.queued_at, Conversation.id)))


def position_and_wait(session: Session, conversation: Conversation) -> tuple[int | None, int | None]:
    """1-based place in its language's queue, and seconds to wait (position x handle time / agents online)."""
    if conversation.status is not CS.queued:
        return None, None
    line = queued(session, conversation.language)
    position = next((i + 1 for i, c in enumerate(line) if c.id == conversation.id), None)
    if position is None:
        return None, None
    online = present_agents(session)
    agents = max(1, sum(1 for u in online if speaks(u, conversation.language)))
    wait = math.ceil(position * get_settings().avg_handle_seconds / agents)
    return position, wait


def _system(session: Session, conversation: Conversation, text: str) -> Message:
    message = conversations.add_message(
        session, conversation=conversation, role=MessageRole.system, text=text, language=conversation.language
    )
    emit_message(session, conversation, message)
    return message


def transcript_text(conversation: Conversation) -> str:
    """The conversation as plain lines for a ticket (internal notes left out)."""
    lines = [
        f"[{m.created_at:%Y-%m-%d %H:%M:%S} UTC] {m.role.value}: {m.text}"
        for m in conversation.messages[-TRANSCRIPT_LIMIT:]
        if not m.internal
    ]
    return "\n".join(lines)


def _open_ticket(session: Session, conversation: Conversation) -> Ticket | None:
    stmt = select(Ticket).where(
        Ticket.conversation_id == conversation.id,
        Ticket.status.in_([TicketStatus.new, TicketStatus.open, TicketStatus.pending]),
    )
    return session.scalars(stmt.order_by(Ticket.id.desc())).first()


def _offline(
    session: Session, conversation: Conversation, contact: Contact, reason: Reason, announce: bool
) -> Result:
    settings = get_settings()
    now = utcnow()
    expected = business_hours().next_open(now) + timedelta(minutes=settings.offline_reply_minutes)
    ticket = _open_ticket(session, conversation)  # asking twice does not make two tickets
    if ticket is None:
        session.refresh(conversation, ["messages"])
        ticket, _ = tickets.create(
            session,
            data={
                "subject": f"Chat escalation ({reason.value}): no agent available",
                "description": transcript_text(conversation),
                "priority": (Priority.high if contact.tier is Tier.vip else Priority.normal).value,
                "contact_id": contact.id,
                "conversation_id": conversation.id,
            },
        )
    if announce:
        _system(
            session,
            conversation,
            say(
                "offline", conversation.language, ticket=ticket.number, when=when(expected, settings.timezone)
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
            say("queued", conversation.language, position=position, minutes=_minutes(wait)),
        )
    emit_status(session, conversation, queue_position=position, estimated_wait_seconds=wait)
    emit_queue(session)
    return Result(conversation.id, True, Outcome.queued, conversation.status, position, wait)


def _minutes(seconds: int | None) -> int:
    return max(1, math.ceil((seconds or 0) / 60))


def agent_name(user: User) -> str:
    """How the customer sees an agent."""
    return user.display_name or user.username


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
                    session, other, say("queued", other.language, position=position, minutes=_minutes(wait))
                )
                emit_status(session, other, queue_position=position, estimated_wait_seconds=wait)
    emit_queue(session)


def queue_items(session: Session) -> list[dict[str, Any]]:
    """The queue as agents see it: wait, reason, last sentiment, contact, place in its language's line."""
    now = utcnow()
    items: list[dict[str, Any]] = []
    places: dict[str | None, int] = {}
    for conversation in queued(session):
        places[conversation.language] = places.get(conversation.language, 0) + 1
        contact = session.get(Contact, conversation.contact_id)
        reason = session.scalars(
            select(Escalation.reason)
            .where(Escalation.conversation_id == conversation.id)
            .order_by(Escalation.id.desc())
        ).first()
        sentiment = session.scalars(
            select(Message.sentiment_label)
            .where(
                Message.conversation_id == conversation.id,
                Message.role == MessageRole.customer,
                Message.sentiment_label.is_not(None),
            )
            .order_by(Message.id.desc())
        ).first()
        queued_at = conversation.queued_at or now
        items.append(
            {
                "conversation_id": conversation.id,
                "language": conversation.language,
                "waiting_seconds": max(0, int((now - queued_at).total_seconds())),
                "reason": reason,
                "sentiment": sentiment,
                "contact_name": contact.name if contact else None,
                "position": places[conversation.language],
            }
        )
    return items


def emit_queue(session: Session) -> None:
    """Send the whole queue to agent sockets (each filters by its languages)."""
    emit(session, AGENTS, {"type": "queue", "items": queue_items(session)})


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
    assign(session, conversation, agent)


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


def automatic_trigger(session: Session, conversation: Conversation, message: Message) -> Reason | None:
    """The trigger crm_bridge evaluates itself on a customer message: keywords, then sentiment."""
    text = message.text.lower()
    if any(keyword in text for keyword in get_settings().keyword_list):
        return Reason.keyword
    if message.sentiment_label == "negative":
        score = message.sentiment_score
        if score is not None and score <= get_settings().negative_sentiment_threshold:
            return Reason.negative_sentiment
        previous = session.scalars(
            select(Message.sentiment_label)
            .where(
                Message.conversation_id == conversation.id,
                Message.role == MessageRole.customer,
                Message.id < message.id,
            )
            .order_by(Message.id.desc())
        ).first()
        if previous == "negative":
            return Reason.negative_sentiment
    return None


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
    if reason is None or _open_ticket(session, conversation) is not None:
        return None
    if reason is Reason.negative_sentiment:
        if bot_collecting():
            return None
        _system(session, conversation, say("sorry", conversation.language))
    return escalate(session, conversation=conversation, reason=reason, note=None, announce=True)


def release_unstaffed(session: Session) -> int:
    """Queued conversations nobody can take any more (their language's last agent left, or business
    hours ended) become offline tickets, back with the bot, and the customer is told when to expect an
    answer. Called lazily (agent presence, queue reads, queued customers writing): no timer job."""
    waiting = queued(session)
    if not waiting:
        return 0
    closed = not business_hours().is_open(utcnow())
    online = present_agents(session)
    released = 0
    for conversation in waiting:
        if not closed and any(speaks(u, conversation.language) for u in online):
            continue
        reason = session.scalars(
            select(Escalation.reason)
            .where(Escalation.conversation_id == conversation.id)
            .order_by(Escalation.id.desc())
        ).first()
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
