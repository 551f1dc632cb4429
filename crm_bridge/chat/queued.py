"""The REST chat API on the job queue: store the customer's message once, queue its turn, and wait
(on the event loop, holding no thread) until a worker has answered it or the wait times out."""

from __future__ import annotations

import asyncio
import uuid

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from crm_bridge.chat.schemas import ChatMessage, ChatRequest, ChatResponse
from crm_bridge.conversations.models import Conversation, Message
from crm_bridge.realtime.bus import Bus
from crm_bridge.realtime.events import contact_channel
from crm_bridge.turns import service as turns
from crm_bridge.turns.models import Turn, TurnStatus
from crm_bridge.turns.tasks import enqueue
from kefu_core.db import get_sessionmaker

RECHECK_S = 1.0  # without a live event (workers in other processes, no Redis bus) the database is read


def receive(request: ChatRequest, *, client_id: str | None = None, queue: bool = True) -> turns.Received:
    """Store the message (once per `client_id` or REST `message_id`) and queue its turn (unless
    `queue` is False: the caller enqueues once it is ready to hear the answer)."""
    message_id = client_id or request.message_id
    platform_id = f"{request.user_id}:{message_id}" if message_id else uuid.uuid4().hex
    inbound = turns.Inbound(
        request.channel,
        request.user_id,
        platform_id[:128],
        request.text,
        client_id=client_id,
        metadata=request.metadata or None,
    )
    with get_sessionmaker()() as session:
        received = turns.receive(session, inbound)
    if queue:
        enqueue(received.conversation_id)
    return received


def _finished(turn_id: int) -> bool:
    with get_sessionmaker()() as session:
        status = session.scalar(select(Turn.status).where(Turn.id == turn_id))
    return status is not None and status is not TurnStatus.pending


async def wait(bus: Bus | None, received: turns.Received, timeout_s: float) -> bool:
    """Wait until the turn is answered (True) or `timeout_s` passes (False)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    sub = bus.subscribe([contact_channel(received.contact_id)]) if bus and received.contact_id else None
    try:
        while True:  # subscribed before the first read: a turn finished in between is not missed
            if await run_in_threadpool(_finished, received.turn_id):
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            if sub is None:
                await asyncio.sleep(min(remaining, 0.1))
                continue
            try:
                async with asyncio.timeout(min(remaining, RECHECK_S)):
                    while True:
                        event = await sub.get()
                        if event.get("type") == "turn_done" and event.get("turn_id") == received.turn_id:
                            return True
            except TimeoutError:
                continue
    finally:
        if sub is not None:
            sub.close()


def result(received: turns.Received, *, answered: bool) -> ChatResponse:
    """The turn's replies as the REST API returns them (`pending` while it has none yet)."""
    with get_sessionmaker()() as session:
        conversation = session.get(Conversation, received.conversation_id)
        assert conversation is not None
        replies = session.scalars(
            select(Message).where(Message.reply_to_id == received.message_id).order_by(Message.id)
        ).all()
        return ChatResponse(
            conversation_id=conversation.id,
            status=conversation.status,
            messages=[
                ChatMessage.model_validate(
                    {"id": m.id, "role": m.role.value, "text": m.text, "buttons": m.buttons}
                )
                for m in replies
            ],
            customer_message_id=received.message_id,
            pending=not answered,
        )
