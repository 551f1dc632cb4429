"""GET /api/v1/channels: every IM channel for admins (configured or not, the webhook URL, figures)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request

from crm_bridge.channels.admin import service
from crm_bridge.channels.admin.schemas import ChannelList, ChannelRead
from crm_bridge.db import DbSession
from crm_bridge.users.auth import Principal, require_role
from crm_bridge.users.models import Role
from kefu_core.settings import get_settings

router = APIRouter(prefix="/api/v1/channels", tags=["channels"])
AdminOnly = Annotated[Principal, require_role(Role.admin)]


@router.get("", response_model=ChannelList)
def list_channels(request: Request, _: AdminOnly, session: DbSession) -> ChannelList:
    """Each channel: configured or not, the URL to register, which settings are set (never their
    values), last inbound and outbound, counted bad webhooks, queued and dead deliveries, the last error."""
    # There is no public-URL setting: the base URL is the one this request came in on (uvicorn's
    # --proxy-headers has already applied X-Forwarded-Proto from a trusted proxy).
    states = service.channel_states(session, get_settings(), str(request.base_url))
    return ChannelList(items=[ChannelRead.of(state) for state in states])
