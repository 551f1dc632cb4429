"""API shapes for contacts."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import phonenumbers
from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from crm_bridge import readback
from crm_bridge.contacts.models import Contact, Tier
from crm_bridge.shapes import MAX_ID, ChangeBody

DEFAULT_REGION = "CN"  # a number without a country code is read as Chinese (the shop's home market)


def normalise_phone(value: str | None) -> str | None:
    """E.164 form of a phone number, or ValueError."""
    if value is None or not value.strip():
        return None
    try:
        parsed = phonenumbers.parse(value, DEFAULT_REGION)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number: {exc}") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


class _ContactFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(None, max_length=40, description="any common format; stored as E.164")
    preferred_language: Literal["en", "zh"] | None = None
    tier: Tier | None = None
    tags: list[str] | None = Field(None, max_length=50)
    attributes: dict[str, Any] | None = None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return normalise_phone(value)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        cleaned = sorted({t.strip().lower() for t in value if t.strip()})
        if any(len(t) > 50 for t in cleaned):
            raise ValueError("a tag has at most 50 characters")
        return cleaned


class ContactCreate(_ContactFields):
    """A new contact."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "Wang Fang", "email": "fang@example.com", "phone": "138 0013 8000", "tier": "vip"}
            ]
        },
    )


class ContactUpdate(ChangeBody, _ContactFields):
    """Changes (only the fields sent are applied; null clears name, email, phone or preferred_language)."""

    clearable = frozenset({"name", "email", "phone", "preferred_language"})


class IdentityRead(BaseModel):
    """A channel identity."""

    model_config = ConfigDict(from_attributes=True)

    channel: str
    external_id: str


class ContactRead(BaseModel):
    """A contact."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str | None
    email: str | None
    phone: str | None
    preferred_language: str | None
    tier: Tier
    tags: list[str]
    attributes: dict[str, Any]
    merged_into_id: int | None
    erased_at: datetime | None
    created_at: datetime
    updated_at: datetime
    identities: list[IdentityRead]


class MergeRequest(BaseModel):
    """Merge another contact into this one."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"source_id": 42}]})

    source_id: int = Field(ge=1, le=MAX_ID, description="the contact that is folded into the one in the path")


readback.guard(Contact, ContactRead)
