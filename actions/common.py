"""Helpers shared by actions: the customer's language, ids from metadata, times, contact details."""

from __future__ import annotations

import os
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import phonenumbers
from rasa_sdk import Tracker

from kefu_core.language import detect_language
from kefu_core.signing import SIGNED, verified
from kefu_core.texts import say

_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_EMAIL_IN_TEXT = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_PHONE_IN_TEXT = re.compile(r"\+?\d[\d\s().-]{5,20}\d")
PHONE_REGION = "CN"  # the shop's home market, as crm_bridge reads numbers without a country code


def language_of(tracker: Tracker) -> str:
    """The customer's language: the slot (crm_bridge's metadata, kept over language-neutral replies such as
    a phone number), then the metadata, then the text itself."""
    language = tracker.get_slot("language") or (tracker.latest_message.get("metadata") or {}).get("language")
    if language in ("en", "zh"):
        return str(language)
    return detect_language(tracker.latest_message.get("text") or "")


def metadata_value(tracker: Tracker, key: str) -> str | None:
    """A value crm_bridge sent (slot first: it survives turns; then this message's metadata).

    The ids the actions act on (`SIGNED`) are read only from this message's metadata, and only when
    crm_bridge's signature verifies: a slot can be set by the customer (`/inform{"contact_id": "7"}`)."""
    if key in SIGNED:
        metadata = tracker.latest_message.get("metadata") or {}
        if not verified(os.environ.get("KEFU_SERVICE_TOKEN", ""), tracker.sender_id, metadata):
            return None
        value = metadata.get(key)
    else:
        value = tracker.get_slot(key) or (tracker.latest_message.get("metadata") or {}).get(key)
    return str(value) if value not in (None, "") else None


def contact_id_of(tracker: Tracker) -> int | None:
    """The crm_bridge contact id, if known (and signed by crm_bridge)."""
    value = metadata_value(tracker, "contact_id")
    return int(value) if value and value.isdigit() else None


def latest_intent(tracker: Tracker) -> str:
    """Name of the latest user message's intent."""
    return str((tracker.latest_message.get("intent") or {}).get("name") or "")


def parse_contact_detail(text: str) -> tuple[str, str] | None:
    """("email", value) or ("phone", E.164) found in a customer's reply, or None."""
    text = text.strip()
    email = _EMAIL_IN_TEXT.search(text)
    if email and _EMAIL.match(email.group(0)):
        return "email", email.group(0).lower()
    phone = _PHONE_IN_TEXT.search(text)
    if phone:
        try:
            parsed = phonenumbers.parse(phone.group(0), PHONE_REGION)
        except phonenumbers.NumberParseException:
            return None
        if phonenumbers.is_valid_number(parsed):
            return "phone", phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return None


def local_time(iso: str | None, language: str) -> str:
    """A due time as customers read it, in KEFU_TIMEZONE (as crm_bridge reads it; default UTC)."""
    if not iso:
        return say("no_value", language)
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    zone = ZoneInfo(os.environ.get("KEFU_TIMEZONE", "UTC"))
    local = moment.astimezone(zone)
    offset = local.strftime("%z")
    return say("due_time", language, at=local, zone=f"UTC{offset[:3]}:{offset[3:]}")


def message_key(tracker: Tracker, purpose: str) -> str:
    """A key that is the same when Rasa retries an action for the same customer message."""
    message_id = tracker.latest_message.get("message_id")
    anchor = message_id or f"n{len(tracker.events)}"
    return f"kefu-bot:{purpose}:{tracker.sender_id}:{anchor}"[:200]
