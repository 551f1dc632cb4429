"""Each registered channel as the admin Channels page shows it (no HTTP: the caller gives the base URL).

Settings are reported by name and whether each has a value, never the value: tokens and secrets are
not shown back to anyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from pydantic import AliasChoices
from sqlalchemy.orm import Session

from crm_bridge.channels import stats
from crm_bridge.channels.registry import CHANNELS, ChannelInfo
from kefu_core.settings import Settings


@dataclass(frozen=True)
class SettingState:
    """One environment variable a channel reads: whether it has a value, and whether it may be left out
    (it has a default, e.g. the platform's API URL)."""

    name: str
    set: bool
    optional: bool


@dataclass(frozen=True)
class ChannelState:
    """One channel: configured or not, where the platform must send its webhooks, and its figures."""

    name: str
    label: str
    configured: bool
    webhook_url: str
    settings: list[SettingState]
    overview: stats.Overview


@cache
def _fields_by_env_name() -> dict[str, str]:
    """KEFU_TELEGRAM_BOT_TOKEN -> telegram_bot_token, from the settings' validation aliases."""
    found: dict[str, str] = {}
    for field_name, info in Settings.model_fields.items():
        alias = info.validation_alias
        names = alias.choices if isinstance(alias, AliasChoices) else [alias]
        for name in names:
            if isinstance(name, str):
                found[name.upper()] = field_name
    return found


def setting_state(settings: Settings, env_name: str) -> SettingState:
    """Whether the variable `env_name` has a value in `settings` (never the value itself)."""
    field_name = _fields_by_env_name().get(env_name.upper())
    if field_name is None:  # a name the registry lists but the settings do not know: report it unset
        return SettingState(env_name, set=False, optional=False)
    value = getattr(settings, field_name)
    default = Settings.model_fields[field_name].default
    has_value = bool(value.strip()) if isinstance(value, str) else value is not None
    has_default = bool(default.strip()) if isinstance(default, str) else default is not None
    return SettingState(env_name, set=has_value, optional=has_default)


def webhook_url(base_url: str, info: ChannelInfo) -> str:
    """The URL to register on the platform: kefu's public base URL and the channel's webhook path."""
    return base_url.rstrip("/") + info.webhook_path


def channel_states(session: Session, settings: Settings, base_url: str) -> list[ChannelState]:
    """Every registered channel, in the registry's order."""
    return [
        ChannelState(
            name=info.name,
            label=info.label,
            configured=bool(info.configured(settings)),
            webhook_url=webhook_url(base_url, info),
            settings=[setting_state(settings, name) for name in info.settings],
            overview=stats.overview(session, info.name),
        )
        for info in CHANNELS
    ]
