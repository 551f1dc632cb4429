"""Every IM channel kefu has: its webhook router, its outbound sender and what the admin Channels page
says of it. crm_bridge and the job workers import this module, which registers each sender."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter

from crm_bridge.channels import outbound
from crm_bridge.channels.telegram import client as telegram
from crm_bridge.channels.telegram.parse import CHANNEL as TELEGRAM
from crm_bridge.channels.telegram.views import router as telegram_router
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
]

outbound.register(TELEGRAM, telegram.sender)


def routers() -> list[APIRouter]:
    """Every channel's webhook routes (crm_bridge includes them all; unconfigured ones answer 404)."""
    return [info.router for info in CHANNELS]
