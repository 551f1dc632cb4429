"""The escalate endpoint (the Rasa actions call it with the service token; agents and admins may too)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from crm_bridge.conversations import service as conversations
from crm_bridge.db import DbSession
from crm_bridge.escalation import lifecycle
from crm_bridge.escalation.schemas import EscalateRequest, EscalateResponse
from crm_bridge.users.auth import Principal, require_role
from crm_bridge.users.models import Role

router = APIRouter(prefix="/api/v1/conversations", tags=["escalation"])
Caller = Annotated[Principal, require_role(Role.agent, allow_service=True)]


@router.post("/{conversation_id}/escalate", response_model=EscalateResponse)
def escalate(
    conversation_id: str, body: EscalateRequest, principal: Caller, session: DbSession
) -> dict[str, Any]:
    """Ask for a human: queued / assigned, offline (a ticket with the transcript), or declined by policy."""
    conversation = conversations.get_plain_or_raise(session, conversation_id)
    result = lifecycle.escalate(
        session,
        conversation=conversation,
        reason=body.reason,
        note=body.note,
        # The Rasa action words the customer's answer itself; a person escalating gets system messages.
        announce=principal.kind != "service",
    )
    session.commit()
    return result.as_dict()
