"""POST /webhooks/telegram: the secret checked in constant time, the update stored once and queued,
and Telegram answered at once (it resends an update that is not answered 200)."""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool

from crm_bridge.channels import stats
from crm_bridge.channels.inbound import accept, read_body
from crm_bridge.channels.telegram.parse import BadUpdate, Parsed, parse_update
from kefu_core.db import get_sessionmaker
from kefu_core.settings import get_settings
from kefu_core.texts import say

router = APIRouter(tags=["channels"])
log = logging.getLogger("kefu.channels.telegram")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def _store(parsed: Parsed) -> None:
    assert parsed.inbound is not None
    answer = say("text_only", parsed.language) if parsed.kind == "non_text" else None
    with get_sessionmaker()() as session:
        accept(session, parsed.inbound, answer=answer)


@router.post("/webhooks/telegram", status_code=200, summary="Telegram Bot API webhook")
async def telegram_webhook(request: Request) -> dict[str, Any]:
    """Receive one Update; 404 when the channel is not configured, 401 without the right secret."""
    settings = get_settings()
    if not settings.telegram_configured:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the Telegram channel is not configured")
    given = request.headers.get(SECRET_HEADER, "").encode()
    if not hmac.compare_digest(given, settings.telegram_webhook_secret.strip().encode()):
        log.warning("Telegram webhook: wrong or missing secret token")
        await run_in_threadpool(
            stats.count, "telegram", stats.VERIFICATION_FAILED, "wrong or missing secret token"
        )
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong or missing secret token")
    body = await read_body(request)
    try:
        parsed = parse_update(json.loads(body))
    except (ValueError, BadUpdate) as exc:  # JSONDecodeError is a ValueError
        await run_in_threadpool(stats.count, "telegram", stats.MALFORMED, str(exc))
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"not a Telegram update: {exc}") from None
    if parsed.kind == "ignored":
        log.info("Telegram update ignored: %s", parsed.reason)
        await run_in_threadpool(stats.count, "telegram", stats.IGNORED, parsed.reason)
        return {"ok": True, "handled": "ignored"}
    await run_in_threadpool(_store, parsed)
    return {"ok": True, "handled": parsed.kind}
