"""The ids crm_bridge gives Rasa with a message, signed, so the actions act only on what crm_bridge said.

A customer can put entities in a message (`/inform{"contact_id": "7"}`) and anyone who reaches Rasa could post
metadata; neither can produce this signature, which is keyed by the service token crm_bridge and the action
server share.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

SIGNED = ("conversation_id", "contact_id")  # the metadata fields the actions act on
FIELD = "ids_signature"  # where the signature travels in the metadata


def _payload(sender: str, metadata: Mapping[str, Any]) -> bytes:
    values = [sender, *("" if metadata.get(k) is None else str(metadata[k]) for k in SIGNED)]
    return "\x1f".join(values).encode()  # a unit separator: no id contains it


def sign_ids(key: str, sender: str, metadata: Mapping[str, Any]) -> str:
    """HMAC-SHA256 (hex) over the sender and the signed fields of `metadata`."""
    return hmac.new(f"kefu-ids:{key}".encode(), _payload(sender, metadata), hashlib.sha256).hexdigest()


def with_signature(key: str, sender: str, metadata: Mapping[str, Any]) -> dict[str, Any]:
    """`metadata` with its signature added (nothing added when there is no key)."""
    signed = dict(metadata)
    signed.pop(FIELD, None)
    if key:
        signed[FIELD] = sign_ids(key, sender, signed)
    return signed


def verified(key: str, sender: str, metadata: Mapping[str, Any] | None) -> bool:
    """Whether `metadata` carries a valid signature for `sender` (constant-time comparison)."""
    if not key or not metadata or not isinstance(metadata.get(FIELD), str):
        return False
    return hmac.compare_digest(str(metadata[FIELD]), sign_ids(key, sender, metadata))
