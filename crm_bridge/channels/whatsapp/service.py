"""What the WhatsApp webhook does with a parsed body, and the 24-hour window check (no HTTP here)."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_bridge.channels import stats
from crm_bridge.channels.inbound import accept
from crm_bridge.channels.models import Delivery
from crm_bridge.channels.whatsapp.parse import CHANNEL, Item, Status
from crm_bridge.contacts.models import Contact, ContactIdentity
from crm_bridge.contacts.schemas import normalise_phone
from crm_bridge.conversations.models import Conversation, Message, MessageRole
from kefu_core.db import utcnow
from kefu_core.texts import say

log = logging.getLogger("kefu.channels.whatsapp")
WINDOW = timedelta(hours=24)  # WhatsApp's customer service window: free-form replies only within it
REPORTED = ("delivered", "read")  # statuses that mean the customer's phone has the message


def _keep_phone(session: Session, wa_id: str) -> None:
    """The contact's phone becomes the WhatsApp number when it has none (wa_id is the number, no `+`)."""
    contact = session.scalars(
        select(Contact)
        .join(ContactIdentity, ContactIdentity.contact_id == Contact.id)
        .where(ContactIdentity.channel == CHANNEL, ContactIdentity.external_id == wa_id)
    ).first()
    if contact is None or contact.phone:
        return
    try:
        contact.phone = normalise_phone(f"+{wa_id}")
    except ValueError:
        log.info("a WhatsApp id is not a valid phone number: not kept as the contact's phone")
        return
    session.commit()


def store(session: Session, item: Item) -> bool:
    """Store one customer message once (wamid) and queue its turn, or answer "text only" at once.
    True when it was new."""
    answer = say("text_only", item.language) if item.kind == "non_text" else None
    received = accept(session, item.inbound, answer=answer)
    if not received.duplicate:
        _keep_phone(session, item.phone)
    return not received.duplicate


def apply_status(session: Session, status: Status) -> bool:
    """A delivery status of a message kefu sent: delivered/read mark it delivered, failed marks it failed
    with WhatsApp's reason; `sent` changes nothing (the delivery is `sent` once Graph took it). False
    when no delivery has that wamid (a message sent by another system on the number). Commits."""
    if status.status == "failed":
        known = stats.mark_delivered(session, CHANNEL, status.message_id, error=status.error or "failed")
    elif status.status in REPORTED:
        known = stats.mark_delivered(session, CHANNEL, status.message_id)
    else:
        stmt = select(Delivery.id).where(
            Delivery.channel == CHANNEL, Delivery.platform_message_id == status.message_id
        )
        known = session.scalars(stmt).first() is not None
    session.commit()
    return known


def window_refusal(session: Session, conversation: Conversation) -> str | None:
    """Why WhatsApp would refuse a free-form message now: the customer's last message on WhatsApp is more
    than 24 hours old (or there is none). Template messages, which may go outside it, are not supported."""
    last = session.scalar(
        select(func.max(Message.created_at))
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            Conversation.contact_id == conversation.contact_id,
            Message.channel == CHANNEL,
            Message.role == MessageRole.customer,
        )
    )
    if last is not None and utcnow() - last <= WINDOW:
        return None
    hours = int((utcnow() - last).total_seconds() // 3600) if last is not None else None
    since = "has not written here yet" if hours is None else f"last wrote {hours} hours ago"
    return (
        "WhatsApp's 24-hour window is closed: the customer "
        f"{since}, and WhatsApp only delivers free-form messages within 24 hours of the customer's last "
        "message (template messages are not supported). Wait for the customer to write again."
    )
