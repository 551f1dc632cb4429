"""Events published once the database change behind them is committed.

Services call `emit(session, channel, event)`; the events wait on the session and are published by an
`after_commit` hook, so a socket never hears of a message the database does not hold (a rolled-back
transaction publishes nothing).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from crm_bridge.conversations.models import Conversation, Message
from crm_bridge.realtime import bus

AGENTS = "agents"
_KEY = "kefu_events"


def contact_channel(contact_id: int) -> str:
    """Where a customer's sockets listen."""
    return f"contact:{contact_id}"


def emit(session: Session, channel: str, payload: dict[str, Any]) -> None:
    """Publish `payload` on `channel` after the session's next commit."""
    session.info.setdefault(_KEY, []).append((channel, payload))


@event.listens_for(Session, "after_commit")
def _publish(session: Session) -> None:
    pending = session.info.pop(_KEY, None)
    target = bus.current()
    if not pending or target is None:
        return
    for channel, payload in pending:
        target.publish_threadsafe(channel, payload)


@event.listens_for(Session, "after_soft_rollback")
def _drop(session: Session, previous_transaction: SessionTransaction) -> None:
    # Every rollback of the outer transaction, even one with no database work begun; a savepoint
    # rolled back inside it (e.g. a lost insert race) keeps the outer transaction's events.
    if not previous_transaction.nested:
        session.info.pop(_KEY, None)


def message_object(message: Message) -> dict[str, Any]:
    """A message as both sockets and the REST history show it."""
    return {
        "id": message.id,
        "role": message.role.value,
        "text": message.text,
        "buttons": message.buttons or [],
        "created_at": message.created_at.isoformat(),
    }


def emit_message(session: Session, conversation: Conversation, message: Message) -> None:
    """Tell the customer (unless it is an internal note) and the agents about a stored message."""
    obj = message_object(message)
    if not message.internal:
        frame = {"type": "message", **obj, "conversation_id": conversation.id}
        emit(session, contact_channel(conversation.contact_id), frame)
    if conversation.status.value in ("queued", "agent") or message.internal:
        emit(
            session,
            AGENTS,
            {
                "type": "message",
                "conversation_id": conversation.id,
                **obj,
                "internal": message.internal,
                "_assignee_id": conversation.assignee_id,
            },
        )


def emit_status(
    session: Session,
    conversation: Conversation,
    *,
    queue_position: int | None = None,
    estimated_wait_seconds: int | None = None,
    agent_name: str | None = None,
) -> None:
    """Tell both sides who owns the conversation now."""
    status = conversation.status.value
    emit(
        session,
        contact_channel(conversation.contact_id),
        {
            "type": "status",
            "conversation_id": conversation.id,
            "status": status,
            "queue_position": queue_position,
            "estimated_wait_seconds": estimated_wait_seconds,
            "agent_name": agent_name,
        },
    )
    emit(
        session,
        AGENTS,
        {
            "type": "status",
            "conversation_id": conversation.id,
            "status": status,
            "_assignee_id": conversation.assignee_id,
        },
    )
