"""What kefu itself tells the customer (crm_bridge's system messages, the custom actions' words): one
catalogue per language, `en` and `zh`, with the same keys and placeholders."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from kefu_core.texts import en, zh

CATALOGUES: dict[str, dict[str, str]] = {"en": en.TEXTS, "zh": zh.TEXTS}


def say(key: str, language: str | None, **values: object) -> str:
    """The text `key` in `language` (English when unknown), filled in."""
    table = CATALOGUES.get(language or "en", en.TEXTS)
    return table.get(key, en.TEXTS[key]).format(**values)


def when(at: datetime, timezone: str) -> str:
    """A reply-by time the customer can read: local date and time with the zone name."""
    local = at.astimezone(ZoneInfo(timezone))
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or timezone)
