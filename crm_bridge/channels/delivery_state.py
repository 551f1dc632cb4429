"""Where each message to an IM customer stands (queued, sent, delivered, failed and why), for the agent
console. Messages without a delivery (widget and REST conversations, customers' own words, internal
notes) have none."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.channels.models import Delivery


def delivery_object(delivery: Delivery | None) -> dict[str, Any] | None:
    """`{"status", "error"}` of a delivery (the error only once it failed or is being retried), or None."""
    if delivery is None:
        return None
    return {"status": delivery.status.value, "error": delivery.last_error}


def by_message(session: Session, message_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The delivery object of each of these messages that has one, by message id."""
    ids = list(message_ids)
    if not ids:
        return {}
    rows = session.scalars(select(Delivery).where(Delivery.message_id.in_(ids)))
    return {d.message_id: obj for d in rows if (obj := delivery_object(d)) is not None}


def of_conversation(session: Session, conversation_id: str) -> dict[int, dict[str, Any]]:
    """Every delivery object of the conversation, by message id."""
    rows = session.scalars(select(Delivery).where(Delivery.conversation_id == conversation_id))
    return {d.message_id: obj for d in rows if (obj := delivery_object(d)) is not None}
