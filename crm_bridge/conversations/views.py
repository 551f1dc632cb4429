"""Conversation routes (agents and admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from crm_bridge.audit import service as audit
from crm_bridge.conversations import service
from crm_bridge.conversations.models import Conversation, ConversationStatus
from crm_bridge.conversations.schemas import ConversationDetail, ConversationRead
from crm_bridge.db import DbSession
from crm_bridge.pagination import Page, PageParams, page_params, paginate
from crm_bridge.shapes import QueryId
from crm_bridge.users.auth import Principal, require_role
from crm_bridge.users.models import Role

router = APIRouter(prefix="/api/v1/conversations", tags=["conversations"])
Agent = Annotated[Principal, require_role(Role.agent)]


@router.get("", response_model=Page[ConversationRead])
def list_conversations(
    principal: Agent,
    session: DbSession,
    request: Request,
    page: Annotated[PageParams, Depends(page_params)],
    status: ConversationStatus | None = None,
    contact_id: QueryId = None,
    assignee_id: QueryId = None,
    channel: Annotated[str | None, Query(max_length=32)] = None,
    started_from: datetime | None = None,
    started_to: datetime | None = None,
) -> dict[str, Any]:
    """Conversations, most recently active first, by status, contact, assignee, channel and date."""
    filters = service.ConversationFilters(status, contact_id, assignee_id, channel, started_from, started_to)
    items, total = paginate(session, service.list_query(filters), page)
    audit.record(
        session,
        request,
        principal,
        action="conversation.list",
        target_type="conversation",
        details={"filters": [k for k, v in vars(filters).items() if v is not None]},
    )
    session.commit()
    return {"items": items, "total": total}


@router.get("/{conversation_id}", response_model=ConversationDetail)
def get_conversation(
    conversation_id: str, principal: Agent, session: DbSession, request: Request
) -> Conversation:
    """One conversation with all its messages (the read is recorded in the audit log)."""
    conversation = service.get_or_raise(session, conversation_id)
    audit.record_conversation_read(
        session, request, principal, conversation_id=conversation.id, contact_id=conversation.contact_id
    )
    session.commit()
    return conversation
