"""The audit log's read shape."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditRead(BaseModel):
    """One entry: who (None for anonymous; role "service" for kefu's own processes), what, to which record,
    when, from which address, in which request, and a few non-personal details."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_id: int | None
    actor_username: str | None
    actor_role: str | None
    action: str
    target_type: str | None
    target_id: str | None
    client_address: str | None
    request_id: str | None
    details: dict[str, Any]
