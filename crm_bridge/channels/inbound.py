"""The one inbound path every channel takes after verifying and parsing: store once, queue, answer."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from fastapi import HTTPException, Request, status
from sqlalchemy.orm import Session

from crm_bridge.turns import service as turns
from crm_bridge.turns.tasks import enqueue

log = logging.getLogger("kefu.channels")
MAX_BODY = 1_000_000  # bytes; platform payloads are a few kilobytes


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The raw body, refused with 413 as soon as it passes `limit` (before it is all read)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"the body is over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    stream: AsyncIterator[bytes] = request.stream()
    async for chunk in stream:
        size += len(chunk)
        if size > limit:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"the body is over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def accept(session: Session, inbound: turns.Inbound, *, answer: str | None = None) -> turns.Received:
    """Store the message once and queue its turn (a redelivery is queued again only while pending)."""
    received = turns.receive(session, inbound, answer=answer)
    if answer is None:
        enqueue(received.conversation_id)
    if received.duplicate:
        log.info("%s delivery %s seen before: not stored again", inbound.channel, inbound.platform_id)
    return received
