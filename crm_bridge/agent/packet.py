"""The handoff packet: everything an agent needs at once when taking over a conversation."""

from __future__ import annotations

import logging
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.channels import delivery_state
from crm_bridge.contacts.models import Contact
from crm_bridge.conversations.models import Conversation, ConversationStatus, Message, MessageRole
from crm_bridge.escalation.models import Escalation
from crm_bridge.rasa_client import auth_headers
from crm_bridge.realtime.events import message_object
from crm_bridge.reports import at_risk
from crm_bridge.tickets import service as tickets
from crm_bridge.tickets.models import Ticket, TicketStatus
from crm_bridge.turns.respond import UNAVAILABLE
from kefu_core.settings import get_settings

log = logging.getLogger("kefu.agent")
FAILED_RESPONSES = {"utter_faq_none", "utter_kb_unavailable", "utter_default", "utter_ask_rephrase"}
FAILED_INTENTS = {"nlu_fallback"}


def rasa_events(conversation_id: str) -> list[dict[str, Any]] | None:
    """The conversation's Rasa tracker events, or None when Rasa cannot be asked (the packet still works)."""
    url = f"{get_settings().rasa_url.rstrip('/')}/conversations/{conversation_id}/tracker"
    try:
        response = httpx.get(url, params={"include_events": "ALL"}, headers=auth_headers(), timeout=2.0)
        response.raise_for_status()
        events = response.json().get("events") or []
    except (httpx.HTTPError, ValueError) as exc:
        log.info("tracker unavailable for the packet: %s", type(exc).__name__)
        return None
    return [e for e in events if isinstance(e, dict)]


def summarise(events: list[dict[str, Any]] | None, messages: list[Message]) -> dict[str, Any]:
    """Intents seen, FAQ answers given and what failed, from Rasa's events and the stored messages."""
    intents: list[str] = []
    faq_answers: list[str] = []
    failures: list[str] = []
    last_action = None
    for event in events or []:
        kind = event.get("event")
        if kind == "user":
            name = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if name:
                intents.append(name)
                if name in FAILED_INTENTS:
                    failures.append(f"not understood: {event.get('text') or ''}".strip())
        elif kind == "action":
            last_action = event.get("name")
            if last_action == "action_default_fallback":
                failures.append("fallback action")
        elif kind == "bot":
            utter = (event.get("metadata") or {}).get("utter_action")
            if utter in FAILED_RESPONSES:
                failures.append(f"no answer ({utter})")
            elif last_action == "action_answer_faq" and not utter and event.get("text"):
                faq_answers.append(str(event["text"]))
    unavailable = set(UNAVAILABLE.values())
    failures += [
        "assistant unavailable" for m in messages if m.role is MessageRole.system and m.text in unavailable
    ]
    return {
        "intents": list(dict.fromkeys(intents)),
        "faq_answers": faq_answers,
        "failures": failures,
        "tracker_available": events is not None,
    }


def build(session: Session, conversation: Conversation) -> dict[str, Any]:
    """Transcript, summary, sentiment trend, contact profile and risk, open tickets and past conversations."""
    messages = list(conversation.messages)
    reason_row = session.scalars(
        select(Escalation).where(Escalation.conversation_id == conversation.id).order_by(Escalation.id.desc())
    ).first()
    summary = summarise(rasa_events(conversation.id), messages)
    deliveries = delivery_state.of_conversation(session, conversation.id)
    summary["reason"] = reason_row.reason if reason_row else None
    summary["note"] = reason_row.note if reason_row else None
    customer = [m for m in messages if m.role is MessageRole.customer and m.sentiment_label is not None]
    scores = [m.sentiment_score for m in customer if m.sentiment_score is not None]
    contact = session.get(Contact, conversation.contact_id)
    open_tickets = session.scalars(
        select(Ticket)
        .where(
            Ticket.contact_id == conversation.contact_id,
            Ticket.status.in_([TicketStatus.new, TicketStatus.open, TicketStatus.pending]),
        )
        .order_by(Ticket.id.desc())
        .limit(20)
    ).all()
    past = session.scalars(
        select(Conversation)
        .where(Conversation.contact_id == conversation.contact_id, Conversation.id != conversation.id)
        .order_by(Conversation.started_at.desc())
        .limit(10)
    ).all()
    return {
        "conversation": {
            "id": conversation.id,
            "status": conversation.status.value,
            "channel": conversation.channel,
            "language": conversation.language,
            "assignee_id": conversation.assignee_id,
            "started_at": conversation.started_at.isoformat(),
            "queued_at": conversation.queued_at.isoformat() if conversation.queued_at else None,
            "first_response_at": conversation.first_response_at.isoformat()
            if conversation.first_response_at
            else None,
        },
        # `delivery`: where a message to an IM customer stands (None for widget and REST conversations).
        "transcript": [
            {**message_object(m), "internal": m.internal, "delivery": deliveries.get(m.id)} for m in messages
        ],
        "summary": summary,
        "sentiment": {
            "trend": [{"id": m.id, "label": m.sentiment_label, "score": m.sentiment_score} for m in customer],
            "average": round(sum(scores) / len(scores), 3) if scores else None,
            "last": customer[-1].sentiment_label if customer else None,
        },
        "contact": _contact(contact),
        # Why this contact may be about to leave (score and reasons, last 30 days), or None.
        "at_risk": at_risk.for_contact(session, contact.id) if contact is not None else None,
        "open_tickets": [
            {
                k: v
                for k, v in tickets.to_read(t).items()
                if k in ("number", "subject", "status", "priority", "created_at")
            }
            for t in open_tickets
        ],
        "past_conversations": [
            {
                "id": c.id,
                "status": c.status.value,
                "channel": c.channel,
                "started_at": c.started_at.isoformat(),
                "resolved": c.status is ConversationStatus.resolved,
            }
            for c in past
        ],
    }


def _contact(contact: Contact | None) -> dict[str, Any]:
    if contact is None:
        return {}
    return {
        "id": contact.id,
        "name": contact.name,
        "email": contact.email,
        "phone": contact.phone,
        "tier": contact.tier.value,
        "preferred_language": contact.preferred_language,
        "tags": contact.tags,
        "created_at": contact.created_at.isoformat(),
    }
