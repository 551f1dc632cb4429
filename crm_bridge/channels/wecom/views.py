"""GET /webhooks/wecom (the callback URL check) and POST /webhooks/wecom (encrypted callbacks): the
msg_signature checked in constant time, the message decrypted for our corp id, and a kf_msg_or_event
callback answered "success" at once while a queue job pulls the messages (WeCom waits 5 seconds)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse

from crm_bridge.channels import stats
from crm_bridge.channels.inbound import read_body
from crm_bridge.channels.wecom import sync
from crm_bridge.channels.wecom.crypto import CryptoError, WeComCrypto
from crm_bridge.channels.wecom.parse import CHANNEL, BadPayload, parse_event, xml_fields
from kefu_core.settings import get_settings

router = APIRouter(tags=["channels"])
log = logging.getLogger("kefu.channels.wecom")
KF_EVENT = "kf_msg_or_event"


def _crypto() -> WeComCrypto:
    settings = get_settings()
    if not settings.wecom_configured:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the WeCom channel is not configured")
    try:
        return WeComCrypto(
            settings.wecom_token.strip(), settings.wecom_aes_key.strip(), settings.wecom_corp_id.strip()
        )
    except ValueError as exc:
        log.error("WeCom callback refused: %s", exc)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None


async def _refuse(detail: str) -> HTTPException:
    log.warning("WeCom callback refused: %s", detail)
    await run_in_threadpool(stats.count, CHANNEL, stats.VERIFICATION_FAILED, detail)
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail)


async def _verified(crypto: WeComCrypto, request: Request, data: str) -> bytes:
    """The decrypted `data` once the query's msg_signature signs it; 401 (counted) otherwise."""
    query = request.query_params
    signed = query.get("msg_signature", "")
    if not signed or not crypto.verify(signed, query.get("timestamp", ""), query.get("nonce", ""), data):
        raise await _refuse("wrong or missing msg_signature")
    try:
        return crypto.decrypt(data)
    except CryptoError as exc:
        raise await _refuse(str(exc)) from None


@router.get("/webhooks/wecom", response_class=PlainTextResponse, summary="WeCom callback URL check")
async def wecom_verify(request: Request) -> PlainTextResponse:
    """Answer WeCom's URL check with the decrypted echostr, exactly as it is."""
    crypto = _crypto()
    echo = request.query_params.get("echostr", "")
    plain = await _verified(crypto, request, echo)
    return PlainTextResponse(plain.decode(errors="replace"))


async def _malformed(detail: str) -> HTTPException:
    await run_in_threadpool(stats.count, CHANNEL, stats.MALFORMED, detail)
    return HTTPException(status.HTTP_400_BAD_REQUEST, f"not a WeCom callback: {detail}")


@router.post("/webhooks/wecom", response_class=PlainTextResponse, summary="WeCom 微信客服 callback")
async def wecom_callback(request: Request) -> PlainTextResponse:
    """Receive one encrypted callback; 404 when the channel is not configured, 401 unless signed for us."""
    crypto = _crypto()
    body = await read_body(request)
    try:
        encrypted = xml_fields(body).get("Encrypt", "")
    except BadPayload as exc:
        raise await _malformed(str(exc)) from None
    if not encrypted:
        raise await _malformed("no <Encrypt> element")
    plain = await _verified(crypto, request, encrypted)
    try:
        callback = parse_event(plain)
    except BadPayload as exc:
        raise await _malformed(f"decrypted message: {exc}") from None
    if callback.event != KF_EVENT or not callback.open_kfid:
        log.info("WeCom callback ignored: %s", callback.event)
        await run_in_threadpool(stats.count, CHANNEL, stats.IGNORED, f"event {callback.event}"[:100])
        return PlainTextResponse("success")
    try:
        await run_in_threadpool(sync.sync, callback.open_kfid, callback.token)
    except Exception as exc:  # WeCom retries an unanswered callback; the next one pulls everything
        log.error("could not enqueue the WeCom pull: %s", type(exc).__name__)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the job queue is unavailable") from None
    return PlainTextResponse("success")
