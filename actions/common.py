"""Helpers shared by actions."""

from __future__ import annotations

import re

from rasa_sdk import Tracker

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


def language_of(tracker: Tracker) -> str:
    """The language of the latest message: crm_bridge's metadata, the slot, then the text itself."""
    metadata = tracker.latest_message.get("metadata") or {}
    language = metadata.get("language") or tracker.get_slot("language")
    if language in ("en", "zh"):
        return str(language)
    return "zh" if _HAN.search(tracker.latest_message.get("text") or "") else "en"
