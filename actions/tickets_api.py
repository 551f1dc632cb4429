"""Ticket creation shared by the ticket form, complaints and hand-offs."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from actions.clients import crm_bridge
from actions.common import contact_id_of, message_key, metadata_value

SUBJECT_MAX = 120


def subject_from(text: str, fallback: str) -> str:
    """A one-line subject from what the customer wrote."""
    line = " ".join(text.split())
    if not line:
        return fallback
    return line if len(line) <= SUBJECT_MAX else line[: SUBJECT_MAX - 1] + "…"


def open_ticket(
    tracker: Tracker, *, purpose: str, subject: str, description: str, priority: str = "normal"
) -> dict[str, Any]:
    """Create a ticket for this conversation's contact (idempotent per customer message)."""
    ticket: dict[str, Any] = {"subject": subject, "description": description, "priority": priority}
    contact_id = contact_id_of(tracker)
    if contact_id:
        ticket["contact_id"] = contact_id
    conversation_id = metadata_value(tracker, "conversation_id")
    if conversation_id:
        ticket["conversation_id"] = conversation_id
    return crm_bridge().create_ticket(ticket, idempotency_key=message_key(tracker, purpose))
