"""Telegram `Update` objects (Bot API) read into what kefu does with each: a turn, a polite "text
only" answer, or nothing (edited messages, groups, other update kinds)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from crm_bridge.turns.service import Inbound

CHANNEL = "telegram"
# Message fields that carry non-text content, in the order we name them to agents.
CONTENT_KINDS = (
    "sticker", "photo", "voice", "video", "video_note", "animation", "audio", "document",
    "location", "venue", "contact", "poll", "dice",
)  # fmt: skip


class BadUpdate(ValueError):
    """Not an Update object (the webhook answers 400 and stores nothing)."""


@dataclass(frozen=True)
class Parsed:
    """What an update asks for: `text` and `non_text` carry the inbound message; `ignored` a reason."""

    kind: Literal["text", "non_text", "ignored"]
    inbound: Inbound | None = None
    reason: str = ""
    language: str = "en"  # from the sender's Telegram language, for kefu's own answers


def parse_update(update: Any) -> Parsed:
    """Read one Update; raise BadUpdate when it is not one."""
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        raise BadUpdate("an Update object with an integer update_id is required")
    message = update.get("message")
    if message is None:
        kinds = [key for key in update if key != "update_id"]
        return Parsed("ignored", reason=kinds[0] if kinds else "empty")
    if not isinstance(message, dict) or not isinstance(message.get("chat"), dict):
        raise BadUpdate("message.chat is required")
    chat, sender = message["chat"], message.get("from") or {}
    if chat.get("type") != "private":
        return Parsed("ignored", reason=f"{chat.get('type') or 'unknown'} chat")
    if not isinstance(chat.get("id"), int) or not isinstance(sender, dict):
        raise BadUpdate("message.chat.id must be an integer")
    if sender.get("is_bot"):
        return Parsed("ignored", reason="from a bot")
    name = " ".join(str(sender[k]) for k in ("first_name", "last_name") if sender.get(k)) or None
    language = "zh" if str(sender.get("language_code") or "").lower().startswith("zh") else "en"
    text = message.get("text")
    if isinstance(text, str) and text.strip():
        inbound = Inbound(CHANNEL, str(chat["id"]), str(update["update_id"]), text.strip(), display_name=name)
        return Parsed("text", inbound, language=language)
    kind = next((k for k in CONTENT_KINDS if k in message), "non-text message")
    inbound = Inbound(CHANNEL, str(chat["id"]), str(update["update_id"]), f"[{kind}]", display_name=name)
    return Parsed("non_text", inbound, language=language)
