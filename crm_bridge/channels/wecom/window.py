"""WeCom's reply window (kf/send_msg): after a customer's message kefu may send at most 5 messages
within 48 hours; the customer's next message opens a new window. An agent is told beforehand (409 with
the reason, through outbound's refusal) instead of seeing the platform refuse later (errcode 95001)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_bridge.channels.models import Delivery, DeliveryStatus
from crm_bridge.channels.wecom.parse import CHANNEL
from crm_bridge.channels.wecom.send import payloads
from crm_bridge.conversations.models import Conversation, Message, MessageRole
from kefu_core.db import utcnow

WINDOW = timedelta(hours=48)
MESSAGES = 5


def refusal(session: Session, conversation: Conversation) -> str | None:
    """Why WeCom would refuse one more message to this customer now, or None while the window is open.
    The window is the customer's, across their conversations on this kf account (one contact identity)."""
    mine = select(Conversation.id).where(
        Conversation.contact_id == conversation.contact_id, Conversation.channel == CHANNEL
    )
    last = session.scalar(
        select(func.max(Message.created_at)).where(
            Message.conversation_id.in_(mine), Message.role == MessageRole.customer
        )
    )
    if last is None or utcnow() - last > WINDOW:
        return (
            "WeCom only lets kefu write to a customer within 48 hours of their last message; "
            "this customer has not written for longer, so the reply cannot be delivered"
        )
    sent = session.scalars(
        select(Message)
        .join(Delivery, Delivery.message_id == Message.id)
        .where(
            Message.conversation_id.in_(mine),
            Message.created_at >= last,
            Delivery.status != DeliveryStatus.failed,
        )
    ).all()
    used = sum(len(payloads(m.text, m.buttons or [])) for m in sent)  # a long text goes as several messages
    if used >= MESSAGES:
        return (
            f"WeCom allows {MESSAGES} messages per customer message within 48 hours and {used} have gone "
            "out since the customer last wrote; wait for the customer to write again"
        )
    return None
