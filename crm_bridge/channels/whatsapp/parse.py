"""WhatsApp Cloud API webhook bodies read into what kefu does with each item: a turn (text, or the title
of a tapped reply button), a polite "text only" answer, a delivery status, or nothing. The signature
check lives here too: it is pure (the view hands it the header and the raw body)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any, Literal

from crm_bridge.turns.service import Inbound
from kefu_core.language import detect_language

CHANNEL = "whatsapp"
OBJECT = "whatsapp_business_account"
# Kinds a customer may send that are not text; a reaction is an emoji on an earlier message and is
# answered with nothing (a "text only, please" to a thumbs-up would be odd).
SILENT_KINDS = ("reaction", "system")


class BadPayload(ValueError):
    """Not a webhook body as Meta sends it (the webhook answers 400 and stores nothing)."""


def signature(app_secret: str, body: bytes) -> str:
    """Meta's X-Hub-Signature-256 value: `sha256=` + hex HMAC-SHA256 of the raw body under the app secret."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def verify(app_secret: str, given: str | None, body: bytes) -> str | None:
    """Why the body is not Meta's (None when it is), compared in constant time."""
    if not given:
        return "missing X-Hub-Signature-256"
    if not hmac.compare_digest(signature(app_secret, body).encode(), given.strip().encode()):
        return "wrong signature"
    return None


@dataclass(frozen=True)
class Item:
    """One message: `text` (a turn), `non_text` (answered "text only"); `phone` is the sender's wa_id."""

    kind: Literal["text", "non_text"]
    inbound: Inbound
    phone: str
    language: str = "en"


@dataclass(frozen=True)
class Status:
    """One delivery status of a message kefu sent; `error` is WhatsApp's reason when it failed."""

    message_id: str
    status: str
    error: str | None = None


@dataclass
class Parsed:
    """Everything one webhook body carries, with the reasons for what it leaves out."""

    messages: list[Item] = field(default_factory=list)
    statuses: list[Status] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def obj(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one (optional parts of a payload)."""
    return value if isinstance(value, dict) else {}


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadPayload(f"{what} must be a list")
    return value


def _reply_title(message: dict[str, Any]) -> str | None:
    """The title of a tapped interactive reply (button or list) or of a template's quick-reply button."""
    interactive = message.get("interactive")
    if isinstance(interactive, dict):
        reply = interactive.get(str(interactive.get("type")))
        if isinstance(reply, dict) and isinstance(reply.get("title"), str):
            return str(reply["title"])
    button = message.get("button")
    if isinstance(button, dict) and isinstance(button.get("text"), str):
        return str(button["text"])
    return None


def _message(message: Any, names: dict[str, str]) -> Item | str:
    """An Item, or the reason the message is left out."""
    if not isinstance(message, dict):
        raise BadPayload("a message must be an object")
    sender, wamid, kind = message.get("from"), message.get("id"), message.get("type")
    if not isinstance(sender, str) or not sender or not isinstance(wamid, str) or not wamid:
        raise BadPayload("a message needs `from` and `id`")
    if kind in SILENT_KINDS:
        return f"{kind} message"
    name = names.get(sender)
    if kind == "text":
        body = obj(message.get("text")).get("body")
        if not isinstance(body, str) or not body.strip():
            return "empty text"
        return Item("text", Inbound(CHANNEL, sender, wamid, body.strip(), display_name=name), sender)
    title = _reply_title(message) if kind in ("interactive", "button") else None
    if title and title.strip():
        return Item("text", Inbound(CHANNEL, sender, wamid, title.strip(), display_name=name), sender)
    label = str(kind or "unknown")[:20]
    media = message.get(label)
    caption = media.get("caption") if isinstance(media, dict) else None
    language = detect_language(caption) if isinstance(caption, str) and caption.strip() else "en"
    inbound = Inbound(CHANNEL, sender, wamid, f"[{label}]", display_name=name)
    return Item("non_text", inbound, sender, language)


def _status(status: Any) -> Status:
    if not isinstance(status, dict) or not isinstance(status.get("id"), str):
        raise BadPayload("a status needs its message id")
    error = None
    if status.get("status") == "failed":
        errors = status.get("errors")
        first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
        data = obj(first.get("error_data"))
        title = str(first.get("title") or first.get("message") or "delivery failed")
        details = f" ({data['details']})" if data.get("details") else ""
        error = f"WhatsApp error {first.get('code', '?')}: {title}{details}"
    return Status(status["id"], str(status.get("status") or ""), error)


def parse_payload(body: Any, phone_number_id: str) -> Parsed:
    """Read one webhook body; raise BadPayload when it is not one. Changes for another business phone
    number than `phone_number_id` are left out (one Meta app may serve several numbers)."""
    if not isinstance(body, dict) or not isinstance(body.get("object"), str):
        raise BadPayload("an object with a string `object` is required")
    parsed = Parsed()
    if body["object"] != OBJECT:
        parsed.ignored.append(f"{body['object'][:40]} object")
        return parsed
    for entry in _list(body.get("entry"), "entry"):
        if not isinstance(entry, dict):
            raise BadPayload("an entry must be an object")
        for change in _list(entry.get("changes"), "entry.changes"):
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict):
                raise BadPayload("a change needs a value object")
            if change.get("field", "messages") != "messages":
                parsed.ignored.append(f"{str(change.get('field'))[:40]} change")
                continue
            metadata = obj(value.get("metadata"))
            if str(metadata.get("phone_number_id") or "") != phone_number_id:
                parsed.ignored.append("another business phone number")
                continue
            names = {
                str(c["wa_id"]): str(c["profile"]["name"])
                for c in _list(value.get("contacts"), "contacts")
                if isinstance(c, dict)
                and c.get("wa_id")
                and isinstance(c.get("profile"), dict)
                and isinstance(c["profile"].get("name"), str)
                and c["profile"]["name"].strip()
            }
            for message in _list(value.get("messages"), "messages"):
                item = _message(message, names)
                if isinstance(item, Item):
                    parsed.messages.append(item)
                else:
                    parsed.ignored.append(item)
            parsed.statuses.extend(_status(s) for s in _list(value.get("statuses"), "statuses"))
    return parsed
