"""Slack Events API bodies read into what kefu does with each: the URL check's challenge, a turn from a
direct message, a polite "text only" answer to a file, or nothing (bots, edits, channels, other events).
The signature check lives here too: it is pure (the view hands it the headers and the raw body)."""

from __future__ import annotations

import hashlib
import hmac
import html
import re
from dataclasses import dataclass
from typing import Any, Literal

from crm_bridge.turns.service import Inbound
from kefu_core.language import detect_language

CHANNEL = "slack"
MAX_AGE_S = 300  # Slack: refuse requests whose timestamp is more than five minutes away (replays)
# Subtypes that carry a customer's file: answered "text only" rather than ignored in silence.
FILE_SUBTYPES = ("file_share",)
_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")


class BadEvent(ValueError):
    """Not an Events API body (the webhook answers 400 and stores nothing)."""


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 signature: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}` under the signing secret."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str | None, given: str | None, body: bytes, *, now: float) -> str | None:
    """Why the request is not Slack's (None when it is): a missing header, a stale time, a bad signature."""
    if not timestamp or not given:
        return "missing signature headers"
    if not timestamp.isdigit():
        return "malformed timestamp"
    if abs(now - int(timestamp)) > MAX_AGE_S:
        return "timestamp older than 300 s (or in the future)"
    if not hmac.compare_digest(signature(secret, timestamp, body).encode(), given.encode()):
        return "wrong signature"
    return None


@dataclass(frozen=True)
class Parsed:
    """What a body asks for: `challenge` the URL check; `text`/`non_text` a message; `ignored` a reason."""

    kind: Literal["challenge", "text", "non_text", "ignored"]
    inbound: Inbound | None = None
    reason: str = ""
    challenge: str = ""
    language: str = "en"


def plain_text(text: str) -> str:
    """Slack's message markup back to plain text: `<url|label>` links, `<@U1>` mentions, &amp; escapes."""

    def link(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        return label or target.lstrip("@#!")

    return html.unescape(_LINK.sub(link, text)).strip()


def _bot_users(body: dict[str, Any]) -> set[str]:
    # Each authorization names the user the app installed as; its own posts come back from that user.
    return {
        str(a.get("user_id"))
        for a in body.get("authorizations") or []
        if isinstance(a, dict) and a.get("is_bot") and a.get("user_id")
    }


def _display_name(event: dict[str, Any]) -> str | None:
    profile = event.get("user_profile")
    if not isinstance(profile, dict):
        return None
    for key in ("display_name", "real_name", "name"):
        if isinstance(profile.get(key), str) and profile[key].strip():
            return str(profile[key]).strip()
    return None


def parse_body(body: Any) -> Parsed:
    """Read one Events API body; raise BadEvent when it is not one."""
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        raise BadEvent("an object with a string `type` is required")
    if body["type"] == "url_verification":
        if not isinstance(body.get("challenge"), str):
            raise BadEvent("url_verification without a challenge")
        return Parsed("challenge", challenge=body["challenge"])
    if body["type"] != "event_callback":
        return Parsed("ignored", reason=f"{body['type'][:40]} body")
    event, event_id = body.get("event"), body.get("event_id")
    if not isinstance(event, dict) or not isinstance(event_id, str) or not event_id:
        raise BadEvent("event_callback needs an event object and an event_id")
    if event.get("type") != "message":
        return Parsed("ignored", reason=f"{str(event.get('type'))[:40]} event")
    if event.get("channel_type") != "im":
        return Parsed("ignored", reason=f"message in a {str(event.get('channel_type'))[:20]} channel")
    if event.get("bot_id") or event.get("user") in _bot_users(body):
        return Parsed("ignored", reason="from a bot")
    subtype = event.get("subtype")
    if subtype is not None and subtype not in FILE_SUBTYPES:
        return Parsed("ignored", reason=f"{str(subtype)[:40]} message")
    channel, user = event.get("channel"), event.get("user")
    if not isinstance(channel, str) or not channel or not isinstance(user, str) or not user:
        raise BadEvent("a message event needs its channel and user")
    text = plain_text(event["text"]) if isinstance(event.get("text"), str) else ""
    name = _display_name(event)
    # The DM channel's id is the identity: chat.postMessage takes it as `channel` to answer there.
    if subtype in FILE_SUBTYPES:
        inbound = Inbound(CHANNEL, channel, event_id, "[file]", display_name=name)
        return Parsed("non_text", inbound, language=detect_language(text) if text else "en")
    if not text:
        return Parsed("ignored", reason="empty message")
    return Parsed("text", Inbound(CHANNEL, channel, event_id, text, display_name=name))
