"""GET /webhooks/whatsapp: Meta's subscription check (hub.verify_token in constant time, hub.challenge
echoed as text). POST /webhooks/whatsapp: X-Hub-Signature-256 checked in constant time over the raw body,
messages stored once per wamid and queued, delivery statuses applied, and Meta answered at once (it
retries a notification that is not answered 200)."""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse

from crm_bridge.channels import stats
from crm_bridge.channels.inbound import read_body
from crm_bridge.channels.whatsapp import service
from crm_bridge.channels.whatsapp.parse import CHANNEL, BadPayload, Parsed, parse_payload, verify
from kefu_core.db import get_sessionmaker
from kefu_core.settings import Settings, get_settings

router = APIRouter(tags=["channels"])
log = logging.getLogger("kefu.channels.whatsapp")
PATH = "/webhooks/whatsapp"


def _configured() -> Settings:
    settings = get_settings()
    if not settings.whatsapp_configured:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the WhatsApp channel is not configured")
    return settings


@router.get(PATH, response_class=PlainTextResponse, summary="WhatsApp webhook verification")
async def whatsapp_verify(request: Request) -> PlainTextResponse:
    """Meta's subscription check: answer hub.challenge when hub.verify_token is ours, else 403."""
    settings = _configured()
    query = request.query_params
    given = query.get("hub.verify_token", "").encode()
    expected = settings.whatsapp_verify_token.strip().encode()
    if query.get("hub.mode") != "subscribe" or not hmac.compare_digest(given, expected):
        await run_in_threadpool(stats.count, CHANNEL, stats.VERIFICATION_FAILED, "wrong verify token")
        raise HTTPException(status.HTTP_403_FORBIDDEN, "wrong hub.mode or hub.verify_token")
    return PlainTextResponse(query.get("hub.challenge", "")[:200])


def _handle(parsed: Parsed) -> dict[str, int]:
    done = {"messages": 0, "statuses": 0}
    with get_sessionmaker()() as session:
        for item in parsed.messages:
            done["messages"] += service.store(session, item)
        for report in parsed.statuses:
            if service.apply_status(session, report):
                done["statuses"] += 1
            else:  # another system's message on the number, or a report that beat our own commit
                parsed.ignored.append(f"{report.status[:20]} status for an unknown message")
    for reason in parsed.ignored:
        stats.count(CHANNEL, stats.IGNORED, reason)
    return done


@router.post(PATH, status_code=200, summary="WhatsApp Cloud API webhook")
async def whatsapp_webhook(request: Request) -> dict[str, Any]:
    """Receive one notification; 404 when the channel is not configured, 401 unless Meta signed it."""
    settings = _configured()
    body = await read_body(request)
    refused = verify(settings.whatsapp_app_secret.strip(), request.headers.get("X-Hub-Signature-256"), body)
    if refused is not None:
        log.warning("WhatsApp webhook refused: %s", refused)
        await run_in_threadpool(stats.count, CHANNEL, stats.VERIFICATION_FAILED, refused)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"not signed by Meta: {refused}")
    try:
        parsed = parse_payload(json.loads(body), settings.whatsapp_phone_number_id.strip())
    except (ValueError, BadPayload) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        await run_in_threadpool(stats.count, CHANNEL, stats.MALFORMED, str(exc)[:200])
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"not a WhatsApp notification: {exc}") from None
    done = await run_in_threadpool(_handle, parsed)
    return {"ok": True, **done, "ignored": len(parsed.ignored)}
