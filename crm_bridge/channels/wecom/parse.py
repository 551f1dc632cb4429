"""What WeCom sends read into what kefu does: the callback XML (outer envelope and decrypted event),
and kf/sync_msg's message list, each message a turn, a polite "text only" answer, or nothing."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any, Literal

from crm_bridge.turns.service import Inbound

CHANNEL = "wecom"
ORIGIN_CUSTOMER = 3  # sync_msg `origin`: 3 the WeChat customer, 4 system events, 5 a servicer
# A DOCTYPE is the only way to declare entities (external ones read files; nested ones blow up), and
# WeCom never sends one: refused outright rather than parsed (defusedxml is not a dependency).
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class BadPayload(ValueError):
    """Not a WeCom payload (the webhook answers 400 and stores nothing)."""


def xml_fields(body: bytes) -> dict[str, str]:
    """The children of a flat `<xml>` document as {tag: text}; BadPayload when it is not one."""
    if _DECLARATION.search(body):
        raise BadPayload("DOCTYPE and ENTITY declarations are not accepted")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise BadPayload(f"malformed XML: {exc}") from None
    if root.tag != "xml":
        raise BadPayload("the root element must be <xml>")
    return {child.tag: (child.text or "").strip() for child in root}


@dataclass(frozen=True)
class Callback:
    """A decrypted callback: kf_msg_or_event names the kf account with news and the token to pull them."""

    event: str
    open_kfid: str = ""
    token: str = ""


def parse_event(plain: bytes) -> Callback:
    """Read the decrypted callback message."""
    fields = xml_fields(plain)
    event = fields.get("Event") or fields.get("MsgType") or "unknown"
    return Callback(event=event, open_kfid=fields.get("OpenKfId", ""), token=fields.get("Token", ""))


def recipient(open_kfid: str, external_userid: str) -> str:
    """The contact identity's external_id: kf/send_msg needs both the customer and the kf account."""
    return f"{open_kfid}:{external_userid}"


def split_recipient(value: str) -> tuple[str, str]:
    """(open_kfid, external_userid) from an identity's external_id."""
    open_kfid, _, external_userid = value.partition(":")
    if not open_kfid or not external_userid:
        raise ValueError("a WeCom recipient is open_kfid:external_userid")
    return open_kfid, external_userid


@dataclass(frozen=True)
class Parsed:
    """What one sync_msg entry asks for: `text` and `non_text` carry the inbound message."""

    kind: Literal["text", "non_text", "ignored"]
    inbound: Inbound | None = None
    reason: str = ""
    language: str = "zh"  # WeCom says nothing of the customer's language; WeChat users mostly read Chinese


def parse_message(entry: Any) -> Parsed:
    """Read one entry of sync_msg's msg_list (a message or an event)."""
    if not isinstance(entry, dict) or not entry.get("msgid"):
        return Parsed("ignored", reason="not a message")
    msgtype = str(entry.get("msgtype") or "unknown")
    if msgtype == "event":
        event = entry.get("event")
        kind = event.get("event_type") if isinstance(event, dict) else None
        return Parsed("ignored", reason=f"event {kind or 'unknown'}")
    if entry.get("origin") != ORIGIN_CUSTOMER:
        return Parsed("ignored", reason=f"origin {entry.get('origin')} (not the customer)")
    open_kfid, external_userid = entry.get("open_kfid"), entry.get("external_userid")
    if (
        not isinstance(open_kfid, str)
        or not isinstance(external_userid, str)
        or not (open_kfid and external_userid)
    ):
        return Parsed("ignored", reason="no open_kfid or external_userid")
    user_id = recipient(open_kfid, external_userid)
    platform_id = str(entry["msgid"])[:128]
    if msgtype == "text":
        text = (entry.get("text") or {}).get("content") if isinstance(entry.get("text"), dict) else None
        if isinstance(text, str) and text.strip():
            return Parsed("text", Inbound(CHANNEL, user_id, platform_id, text.strip()))
        return Parsed("ignored", reason="empty text")
    return Parsed("non_text", Inbound(CHANNEL, user_id, platform_id, f"[{msgtype}]"))
