"""API shapes for users and auth."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from crm_bridge import readback
from crm_bridge.shapes import ChangeBody
from crm_bridge.users.models import Role, User

Language = Literal["en", "zh"]


class Token(BaseModel):
    """OAuth2 token response."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class UserRead(BaseModel):
    """A user as the API shows it (never the hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    role: Role
    display_name: str | None
    languages: list[str]
    max_concurrent_chats: int
    online: bool
    active: bool
    created_at: datetime


class UserCreate(BaseModel):
    """A new agent or admin."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "username": "li.na",
                    "password": "a long passphrase",
                    "role": "agent",
                    "languages": ["zh", "en"],
                }
            ]
        },
    )

    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=12, max_length=256)
    role: Role
    display_name: str | None = Field(None, max_length=200)
    languages: list[Language] = Field(default_factory=lambda: list[Language](["en"]), min_length=1)
    max_concurrent_chats: int = Field(3, ge=1, le=50)


class UserUpdate(ChangeBody):
    """Changes to a user (only the fields sent are applied; null clears display_name)."""

    clearable = frozenset({"display_name"})

    password: str | None = Field(None, min_length=12, max_length=256)
    role: Role | None = None
    display_name: str | None = Field(None, max_length=200)
    languages: list[Language] | None = Field(None, min_length=1)
    max_concurrent_chats: int | None = Field(None, ge=1, le=50)
    active: bool | None = None


class MfaSetup(BaseModel):
    """A new TOTP secret to add to an authenticator app (MFA is on only after a code confirms it)."""

    secret: str
    otpauth_uri: str
    qr_svg: str


class MfaCode(BaseModel):
    """A code from the authenticator app (or, to turn MFA off, a recovery code)."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=6, max_length=32)


class MfaEnabled(BaseModel):
    """MFA is on; the ten single-use recovery codes, shown this once."""

    recovery_codes: list[str]


class SessionRead(BaseModel):
    """A sign-in session (the token itself is never shown again)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    user_id: int
    created_at: datetime
    expires_at: datetime
    user_agent: str | None
    current: bool = False


readback.guard(User, UserRead)
