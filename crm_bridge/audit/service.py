"""Recording audit entries and reading them back (no routes here; views call `record`).

An entry names its actor (a person, kefu's service, or nobody), the action (`auth.login`,
`contact.read`, ...), its target, the client address and the request id. `details` is a small JSON
object of ids, counts, field names and states: keys that would carry personal data are refused.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Select, select
from sqlalchemy.orm import Session
from starlette.requests import Request

from crm_bridge.audit.models import AuditEntry
from kefu_core.db import get_sessionmaker

# Keys a details object may never have: their values would be personal data or secrets.
FORBIDDEN_KEYS = frozenset(
    {
        "email",
        "phone",
        "password",
        "text",
        "body",
        "message",
        "name",
        "display_name",
        "code",
        "secret",
        "token",
    }
)
MAX_DETAILS_CHARS = 2000
_SCALARS = (str, int, float, bool, type(None))


class Actor(Protocol):
    """Who acts: crm_bridge.users.auth.Principal fits (the audit log imports no accounts)."""

    @property
    def kind(self) -> str:
        """ "user" or "service"."""

    @property
    def user_id(self) -> int | None:
        """The account's id."""

    @property
    def username(self) -> str | None:
        """The account's name."""

    @property
    def role(self) -> Any:
        """The account's role (a str enum)."""


@dataclass(frozen=True)
class Context:
    """Where a request came from, for entries written outside a route (or in tests)."""

    client_address: str | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class Operator:
    """Someone at the server's shell running the `kefu` CLI: no account, so the OS user names them."""

    username: str | None
    kind: str = "operator"
    user_id: int | None = None
    role: str = "cli"


def cli_operator() -> Operator:
    """The operator running this process (their OS login name, when the system knows it)."""
    try:
        return Operator(getpass.getuser()[:100])
    except (OSError, KeyError):  # no login name (a container without a passwd entry)
        return Operator(None)


def context_of(request: Request | Context | None) -> Context:
    """The client address (already the real one: uvicorn honours KEFU_TRUSTED_PROXIES) and request id."""
    if request is None or isinstance(request, Context):
        return request or Context()
    address = request.client.host if request.client else None
    return Context(address, getattr(request.state, "request_id", None))


def clean_details(details: dict[str, Any] | None) -> dict[str, Any]:
    """`details` checked: flat, scalar (or lists of scalars), no personal-data keys, small."""
    details = dict(details or {})
    for key, value in details.items():
        if key.lower() in FORBIDDEN_KEYS:
            raise ValueError(f"audit details may not carry {key!r}")
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(item, _SCALARS) for item in items):
            raise ValueError(f"audit detail {key!r} must be a scalar or a list of scalars")
    if len(json.dumps(details, default=str)) > MAX_DETAILS_CHARS:
        raise ValueError("audit details are too large")
    return details


def _role_of(actor: Actor | None) -> str | None:
    if actor is None:
        return None
    if actor.kind == "service":
        return "service"
    return str(actor.role) if actor.role is not None else None


def record(
    session: Session,
    request: Request | Context | None,
    actor: Actor | None,
    *,
    action: str,
    target_type: str | None = None,
    target_id: object = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an entry to `session` (committed with the caller's change, or not at all)."""
    where = context_of(request)
    entry = AuditEntry(
        actor_id=actor.user_id if actor is not None else None,
        actor_username=actor.username if actor is not None else None,
        actor_role=_role_of(actor),
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id)[:64],
        client_address=where.client_address[:64] if where.client_address else None,
        request_id=where.request_id,
        details=clean_details(details),
    )
    session.add(entry)
    return entry


def record_conversation_read(
    session: Session,
    request: Request | None,
    actor: Actor,
    *,
    conversation_id: str,
    contact_id: int,
    via: str = "",
) -> None:
    """A person read a conversation (its detail, or the console's handoff packet)."""
    details: dict[str, Any] = {"contact_id": contact_id, **({"via": via} if via else {})}
    record(
        session,
        request,
        actor,
        action="conversation.read",
        target_type="conversation",
        target_id=conversation_id,
        details=details,
    )


def record_alone(
    request: Request | Context | None,
    actor: Actor | None,
    *,
    action: str,
    target_type: str | None = None,
    target_id: object = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Write an entry in a transaction of its own: for reads, and for failures whose request rolls back."""
    with get_sessionmaker()() as session:
        record(
            session,
            request,
            actor,
            action=action,
            target_type=target_type,
            target_id=target_id,
            details=details,
        )
        session.commit()


def record_person_read(
    request: Request | Context | None,
    actor: Actor,
    *,
    action: str,
    target_type: str,
    target_id: object,
    details: dict[str, Any] | None = None,
) -> None:
    """A read by a person is recorded; one by kefu's own service (the action server) is not."""
    if actor.kind == "service":
        return
    record_alone(request, actor, action=action, target_type=target_type, target_id=target_id, details=details)


@dataclass(frozen=True)
class Filters:
    """What GET /api/v1/audit narrows by; `action` ending in "." matches every action it starts."""

    actor_id: int | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None


def list_query(filters: Filters) -> Select[Any]:
    """Entries matching `filters`, newest first."""
    stmt = select(AuditEntry)
    if filters.actor_id is not None:
        stmt = stmt.where(AuditEntry.actor_id == filters.actor_id)
    if filters.action:
        if filters.action.endswith("."):
            stmt = stmt.where(AuditEntry.action.startswith(filters.action, autoescape=True))
        else:
            stmt = stmt.where(AuditEntry.action == filters.action)
    if filters.target_type:
        stmt = stmt.where(AuditEntry.target_type == filters.target_type)
    if filters.target_id:
        stmt = stmt.where(AuditEntry.target_id == filters.target_id)
    if filters.start is not None:
        stmt = stmt.where(AuditEntry.at >= filters.start)
    if filters.end is not None:
        stmt = stmt.where(AuditEntry.at < filters.end)
    return stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
