"""Signing in, shared by the token route and the login page: throttling, password, second factor,
and the session a token names (no HTTP)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import jwt
from sqlalchemy.orm import Session

from crm_bridge.users import mfa, service, sessions, throttle
from crm_bridge.users.auth import create_access_token, token_ttl
from crm_bridge.users.models import User
from kefu_core.db import utcnow
from kefu_core.errors import DomainError
from kefu_core.settings import get_settings

PENDING_MINUTES = 5  # the login page's second step must follow the first within this time


class InvalidCredentials(DomainError):
    """Wrong username or password (the same answer for an unknown account)."""

    status_code = 401
    code = "invalid_credentials"


class MfaRequired(DomainError):
    """The password was right; the account also needs its TOTP or recovery code."""

    status_code = 401
    code = "mfa_required"


class InvalidCode(DomainError):
    """The second factor was wrong, expired or already used."""

    status_code = 401
    code = "invalid_mfa_code"


@dataclass(frozen=True)
class SignedIn:
    """A new session and its token."""

    user: User
    token: str
    ttl: int
    session_id: str
    enrolment_only: bool


def _fail(session: Session, error: DomainError, *, username: str, address: str) -> DomainError:
    throttle.record_failure(session, username=username, address=address)
    session.commit()  # the failure counts even though the request fails
    return error


def check_password(session: Session, *, username: str, password: str, address: str) -> User:
    """The account for these credentials, unless locked (429) or wrong (401, counted)."""
    throttle.check(session, username=username, address=address)
    user = service.authenticate(session, username=username, password=password)
    if user is None:
        wrong = InvalidCredentials("wrong username or password")
        raise _fail(session, wrong, username=username, address=address)
    return user


def check_code(session: Session, *, user: User, code: str | None, address: str) -> None:
    """Nothing for an account without MFA; MfaRequired without a code; InvalidCode (counted) if wrong."""
    if not user.mfa_enabled:
        return
    if not code:
        raise MfaRequired("enter the 6-digit code from your authenticator app, or a recovery code")
    throttle.check(session, username=user.username, address=address)
    if not mfa.verify(session, user=user, code=code):
        wrong = InvalidCode("that code is wrong, expired or already used")
        raise _fail(session, wrong, username=user.username, address=address)


def open_session(session: Session, *, user: User, user_agent: str | None) -> SignedIn:
    """After both factors: forget the failures, store a session and sign its token (the caller commits)."""
    throttle.clear_account(session, username=user.username)
    enrolment_only = mfa.required_for(user) and not user.mfa_enabled
    row = sessions.create(
        session, user=user, ttl_s=token_ttl(), user_agent=user_agent, enrolment_only=enrolment_only
    )
    token, ttl = create_access_token(user, row.id)
    return SignedIn(user, token, ttl, row.id, enrolment_only)


def sign_in(
    session: Session, *, username: str, password: str, code: str | None, address: str, user_agent: str | None
) -> SignedIn:
    """Both factors at once (the token route)."""
    user = check_password(session, username=username, password=password, address=address)
    check_code(session, user=user, code=code, address=address)
    return open_session(session, user=user, user_agent=user_agent)


def pending_token(user: User) -> str:
    """A short-lived proof that the password was right, carried by the login page's code step."""
    now = utcnow()
    claims = {
        "sub": str(user.id),
        "typ": "mfa_pending",
        "iat": now,
        "exp": now + timedelta(minutes=PENDING_MINUTES),
    }
    return jwt.encode(claims, get_settings().secret_key, algorithm="HS256")


def pending_user(session: Session, token: str) -> User:
    """The account a pending token names; InvalidCredentials when it is forged, expired or inactive."""
    try:
        claims = jwt.decode(token, get_settings().secret_key, algorithms=["HS256"])
        if claims.get("typ") != "mfa_pending":
            raise ValueError("not a pending-sign-in token")
        user = session.get(User, int(claims["sub"]))
    except (jwt.PyJWTError, KeyError, ValueError) as exc:
        raise InvalidCredentials("the sign-in took too long; enter your password again") from exc
    if user is None or not user.active:
        raise InvalidCredentials("the sign-in took too long; enter your password again")
    return user
