"""Chat routes for customers (no role; a channel key in production)."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select

from crm_bridge.chat import queued
from crm_bridge.chat.schemas import ChatRequest, ChatResponse
from crm_bridge.contacts.models import ContactIdentity
from crm_bridge.conversations import service as conversations
from crm_bridge.conversations.models import Conversation
from crm_bridge.db import DbSession
from crm_bridge.ratelimit import SlidingWindow
from crm_bridge.realtime.events import message_object
from crm_bridge.shapes import AfterId
from kefu_core.errors import NotFound
from kefu_core.settings import get_settings

router = APIRouter(prefix="/api/v1", tags=["chat"])
_bearer = HTTPBearer(auto_error=False)


def channel_key(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> None:
    """In production the REST channel needs `Authorization: Bearer <one of KEFU_CHANNEL_KEYS>`."""
    settings = get_settings()
    if settings.env != "production":
        return
    given = credentials.credentials.encode() if credentials else b""
    if not given or not any(hmac.compare_digest(given, key.encode()) for key in settings.channel_key_list):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a valid channel key is required",
            headers={"WWW-Authenticate": "Bearer"},
        )


ChannelKey = Annotated[None, Depends(channel_key)]


@router.post("/chat", response_model=ChatResponse)
async def chat(body: ChatRequest, request: Request, _: ChannelKey) -> ChatResponse:
    """Send a customer message; get the bot's (or nobody's, while a human owns it) replies. The turn
    is answered by a queue worker; this waits for it up to KEFU_CHAT_WAIT_TIMEOUT seconds."""
    limiter: SlidingWindow = request.app.state.customer_rate
    limiter.check(
        f"{body.channel}:{body.user_id}", "messages", "this customer"
    )  # 429 before anything is stored
    received = await run_in_threadpool(queued.receive, body)
    answered = await queued.wait(
        getattr(request.app.state, "bus", None), received, get_settings().chat_wait_timeout_s
    )
    return await run_in_threadpool(queued.result, received, answered=answered)


@router.get("/chat/{conversation_id}/messages")
def messages(
    conversation_id: str,
    session: DbSession,
    _: ChannelKey,
    user_id: Annotated[str, Query(min_length=1, max_length=200)],
    after: AfterId = 0,
) -> dict[str, Any]:
    """What was said in the customer's conversation after message `after` (agent messages included)."""
    conversation = session.get(Conversation, conversation_id)
    owner = None
    if conversation is not None:
        owner = session.scalars(
            select(ContactIdentity.contact_id).where(
                ContactIdentity.channel == conversation.channel,
                ContactIdentity.external_id == user_id.strip(),
            )
        ).first()
    # Someone else's conversation looks exactly like a missing one.
    if conversation is None or owner != conversation.contact_id:
        raise NotFound(f"conversation {conversation_id} not found")
    return {
        "conversation_id": conversation.id,
        "status": conversation.status.value,
        "messages": [
            message_object(m) for m in conversations.messages_after(session, conversation.id, after)
        ],
    }
