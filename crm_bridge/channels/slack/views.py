"""POST /webhooks/slack/events: Slack's v0 signature checked in constant time (and its timestamp's age),
the URL check answered, a direct message stored once per event_id and queued, and Slack answered at
once (it retries an event not answered 200 within three seconds, with X-Slack-Retry-Num)."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool

from crm_bridge.channels import stats
from crm_bridge.channels.inbound import accept, read_body
from crm_bridge.channels.slack.parse import CHANNEL, BadEvent, Parsed, parse_body, verify
from kefu_core.db import get_sessionmaker
from kefu_core.settings import get_settings
from kefu_core.texts import say

router = APIRouter(tags=["channels"])
log = logging.getLogger("kefu.channels.slack")


def _store(parsed: Parsed) -> None:
    assert parsed.inbound is not None
    answer = say("text_only", parsed.language) if parsed.kind == "non_text" else None
    with get_sessionmaker()() as session:
        accept(session, parsed.inbound, answer=answer)


@router.post("/webhooks/slack/events", status_code=200, summary="Slack Events API webhook")
async def slack_events(request: Request) -> dict[str, Any]:
    """Receive one Events API request; 404 when the channel is not configured, 401 unless Slack signed it."""
    settings = get_settings()
    if not settings.slack_configured:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the Slack channel is not configured")
    body = await read_body(request)
    refused = verify(
        settings.slack_signing_secret.strip(),
        request.headers.get("X-Slack-Request-Timestamp"),
        request.headers.get("X-Slack-Signature"),
        body,
        now=time.time(),
    )
    if refused is not None:
        log.warning("Slack webhook refused: %s", refused)
        await run_in_threadpool(stats.count, CHANNEL, stats.VERIFICATION_FAILED, refused)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"not signed by Slack: {refused}")
    try:
        parsed = parse_body(json.loads(body))
    except (ValueError, BadEvent) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        await run_in_threadpool(stats.count, CHANNEL, stats.MALFORMED, str(exc)[:200])
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"not a Slack event: {exc}") from None
    if parsed.kind == "challenge":
        return {"challenge": parsed.challenge}
    if parsed.kind == "ignored":
        log.info("Slack event ignored: %s", parsed.reason)
        await run_in_threadpool(stats.count, CHANNEL, stats.IGNORED, parsed.reason)
        return {"ok": True, "handled": "ignored"}
    retry = request.headers.get("X-Slack-Retry-Num")
    if retry:  # the event_id dedupes it; logged to show Slack thought an earlier answer was late
        log.info(
            "Slack retry %s of an event (%s)", retry[:4], request.headers.get("X-Slack-Retry-Reason", "")[:40]
        )
    await run_in_threadpool(_store, parsed)
    return {"ok": True, "handled": parsed.kind}
