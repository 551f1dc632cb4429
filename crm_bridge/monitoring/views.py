"""GET /metrics: Prometheus text format; open in development, `Authorization: Bearer $KEFU_METRICS_TOKEN`
when that is set (the settings insist on it in production)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Response
from prometheus_client import CONTENT_TYPE_LATEST

from crm_bridge.monitoring.collectors import StateCollector
from crm_bridge.observability.metrics import render
from kefu_core.settings import get_settings

router = APIRouter(tags=["monitoring"])


def allowed(expected: str, authorization: str | None) -> bool:
    """No token configured, or the header carries it as a Bearer token (constant-time)."""
    if not expected:
        return True
    scheme, _, value = (authorization or "").partition(" ")
    given = value.strip() if scheme.lower() == "bearer" else ""
    return hmac.compare_digest(given.encode(), expected.encode())


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
def metrics(authorization: Annotated[str | None, Header()] = None) -> Response:
    """Every kefu_ series, with queue depths and dead items read from the database now."""
    if not allowed(get_settings().metrics_token.strip(), authorization):
        raise HTTPException(401, "missing or wrong metrics token", headers={"WWW-Authenticate": "Bearer"})
    return Response(render(StateCollector()), media_type=CONTENT_TYPE_LATEST)
