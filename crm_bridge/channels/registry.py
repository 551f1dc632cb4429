"""Every channel's sender, registered for outbound delivery (imported by crm_bridge and the workers)."""

from __future__ import annotations

from crm_bridge.channels import outbound
from crm_bridge.channels.telegram import client as telegram
from crm_bridge.channels.telegram.parse import CHANNEL as TELEGRAM

outbound.register(TELEGRAM, telegram.sender)
