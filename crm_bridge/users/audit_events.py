"""What the sign-in routes (the token route and the login page) record in the audit log."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request

from crm_bridge.audit import service as audit
from crm_bridge.users import login as signin
from crm_bridge.users.auth import Principal
from crm_bridge.users.models import User
from kefu_core.db import get_sessionmaker
from kefu_core.errors import DomainError

# Failures worth an entry; MfaRequired is the prompt for the second step, not a failure.
FAILURES = (signin.InvalidCredentials, signin.InvalidCode)


def actor_of(user: User) -> Principal:
    """The account as the actor of its own sign-in."""
    return Principal(kind="user", user_id=user.id, username=user.username, role=user.role)


def signed_in(session: Session, request: Request, signed: signin.SignedIn, *, via: str) -> None:
    """`auth.login`, in the sign-in's own transaction (the caller commits)."""
    audit.record(
        session,
        request,
        actor_of(signed.user),
        action="auth.login",
        target_type="user",
        target_id=signed.user.id,
        details={"via": via, "mfa": signed.user.mfa_enabled, "enrolment_only": signed.enrolment_only},
    )


def is_failure(error: DomainError) -> bool:
    """True for a wrong password or code and for a locked account name or address."""
    return isinstance(error, FAILURES) or error.code == "login_locked"


def login_failed(request: Request, *, username: str, error: DomainError, via: str) -> None:
    """`auth.login_failed`, committed on its own (the request itself fails). The actor is anonymous;
    the target is the account when the name is one (a typed name that is not is never stored)."""
    with get_sessionmaker()() as session:
        user_id = session.scalar(select(User.id).where(User.username == username)) if username else None
        audit.record(
            session,
            request,
            None,
            action="auth.login_failed",
            target_type="user",
            target_id=user_id,
            details={"via": via, "reason": error.code},
        )
        session.commit()
