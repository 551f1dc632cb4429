"""Shapes of the admin channels API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from crm_bridge.channels import stats
from crm_bridge.channels.admin.service import ChannelState


class SettingRead(BaseModel):
    """An environment variable a channel reads: its name and whether it has a value (never the value)."""

    name: str
    set: bool
    optional: bool = Field(description="it has a default (e.g. the platform's API URL)")


class ChannelRead(BaseModel):
    """One channel on the admin Channels page."""

    name: str
    label: str
    configured: bool
    webhook_url: str = Field(description="the URL to register on the platform")
    settings: list[SettingRead]
    last_inbound_at: datetime | None
    last_outbound_at: datetime | None
    verification_failures: int
    malformed: int
    ignored: int
    queued_deliveries: int
    dead_deliveries: int = Field(description="deliveries that failed for good")
    last_error: str | None
    last_error_at: datetime | None

    @classmethod
    def of(cls, state: ChannelState) -> ChannelRead:
        """The read shape of a channel's state."""
        figures = state.overview
        return cls(
            name=state.name,
            label=state.label,
            configured=state.configured,
            webhook_url=state.webhook_url,
            settings=[SettingRead(name=s.name, set=s.set, optional=s.optional) for s in state.settings],
            last_inbound_at=figures.last_inbound_at,
            last_outbound_at=figures.last_outbound_at,
            verification_failures=figures.events.get(stats.VERIFICATION_FAILED, 0),
            malformed=figures.events.get(stats.MALFORMED, 0),
            ignored=figures.events.get(stats.IGNORED, 0),
            queued_deliveries=figures.queued_deliveries,
            dead_deliveries=figures.dead_deliveries,
            last_error=figures.last_error,
            last_error_at=figures.last_error_at,
        )


class ChannelList(BaseModel):
    """Every registered channel."""

    items: list[ChannelRead]
