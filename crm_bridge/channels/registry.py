"""Every IM channel kefu has: its webhook router, its outbound sender and what the admin Channels page
says of it. crm_bridge and the job workers import this module, which registers each sender."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter

from crm_bridge.channels import outbound
from crm_bridge.channels.slack import client as slack
from crm_bridge.channels.slack.parse import CHANNEL as SLACK
from crm_bridge.channels.slack.views import router as slack_router
from crm_bridge.channels.telegram import client as telegram
from crm_bridge.channels.telegram.parse import CHANNEL as TELEGRAM
from crm_bridge.channels.telegram.views import router as telegram_router
from crm_bridge.channels.wecom import handover as wecom_handover
from crm_bridge.channels.wecom import send as wecom
from crm_bridge.channels.wecom import window as wecom_window
from crm_bridge.channels.wecom.parse import CHANNEL as WECOM
from crm_bridge.channels.wecom.views import router as wecom_router
from crm_bridge.channels.whatsapp import client as whatsapp
from crm_bridge.channels.whatsapp import service as whatsapp_service
from crm_bridge.channels.whatsapp.parse import CHANNEL as WHATSAPP
from crm_bridge.channels.whatsapp.views import router as whatsapp_router
from kefu_core.settings import Settings


@dataclass(frozen=True)
class ChannelInfo:
    """One channel: its name (the `channel` of its messages), label, webhook path and routes."""

    name: str
    label: str
    webhook_path: str
    configured: Callable[[Settings], bool]
    router: APIRouter
    settings: tuple[str, ...]  # the environment variables it reads, for the admin page and README


CHANNELS: list[ChannelInfo] = [
    ChannelInfo(
        TELEGRAM,
        "Telegram",
        "/webhooks/telegram",
        lambda s: s.telegram_configured,
        telegram_router,
        ("KEFU_TELEGRAM_BOT_TOKEN", "KEFU_TELEGRAM_WEBHOOK_SECRET", "KEFU_TELEGRAM_API_URL"),
    ),
    ChannelInfo(
        WECOM,
        "WeCom customer service",
        "/webhooks/wecom",
        lambda s: s.wecom_configured,
        wecom_router,
        (
            "KEFU_WECOM_CORP_ID",
            "KEFU_WECOM_SECRET",
            "KEFU_WECOM_TOKEN",
            "KEFU_WECOM_AES_KEY",
            "KEFU_WECOM_API_URL",
        ),
    ),
    ChannelInfo(
        SLACK,
        "Slack",
        "/webhooks/slack/events",
        lambda s: s.slack_configured,
        slack_router,
        ("KEFU_SLACK_BOT_TOKEN", "KEFU_SLACK_SIGNING_SECRET", "KEFU_SLACK_API_URL"),
    ),
    ChannelInfo(
        WHATSAPP,
        "WhatsApp",
        "/webhooks/whatsapp",
        lambda s: s.whatsapp_configured,
        whatsapp_router,
        (
            "KEFU_WHATSAPP_ACCESS_TOKEN",
            "KEFU_WHATSAPP_PHONE_NUMBER_ID",
            "KEFU_WHATSAPP_APP_SECRET",
            "KEFU_WHATSAPP_VERIFY_TOKEN",
            "KEFU_WHATSAPP_API_URL",
        ),
    ),
]

outbound.register(TELEGRAM, telegram.sender)
outbound.register(WECOM, wecom.sender, refusal=wecom_window.refusal)
wecom_handover.register()
outbound.register(SLACK, slack.sender)
outbound.register(WHATSAPP, whatsapp.sender, refusal=whatsapp_service.window_refusal)


def routers() -> list[APIRouter]:
    """Every channel's webhook routes (crm_bridge includes them all; unconfigured ones answer 404)."""
    return [info.router for info in CHANNELS]
