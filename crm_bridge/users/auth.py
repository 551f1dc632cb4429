"""Authentication and roles: bearer tokens (OAuth2 password flow), a cookie session for pages,
and the service token kefu's own processes (the action server) use.

Every access token names a server-side session (`sid`, crm_bridge/users/sessions.py): a revoked
session stops its token within ACCOUNT_TTL seconds in every worker. Requests the cookie authenticates
must also pass the CSRF check (csrf.py) when they change anything.

It lives with the accounts it reads because the users routes (login, account admin) need it: in
crm_bridge/auth.py it made users and auth import each other. crm_bridge.users.auth still re-exports it.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Generic, TypeVar

import jwt
from fastapi import Depends, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from crm_bridge.users import csrf, sessions
from crm_bridge.users.models import Role, User
from kefu_core.db import read_session, utcnow
from kefu_core.settings import get_settings

SESSION_COOKIE = "kefu_session"
K = TypeVar("K")
V = TypeVar("V")
_ALGORITHM = "HS256"
_bearer = HTTPBearer(auto_error=False)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user with a role, or kefu's own service."""

    kind: str  # "user" | "service"
    user_id: int | None = None
    username: str | None = None
    role: Role | None = None
    session_id: str | None = None
    # Signed in with a password while MFA is required but not set up: only enrolment is open.
    enrolment_only: bool = False

    @property
    def is_admin(self) -> bool:
        """Admins may do everything agents may."""
        return self.role is Role.admin


def token_ttl() -> int:
    """The lifetime of a new access token, in seconds."""
    return int(timedelta(minutes=get_settings().token_ttl_minutes).total_seconds())


def create_access_token(user: User, session_id: str) -> tuple[str, int]:
    """A signed token for `user` naming its session, and its lifetime in seconds."""
    settings = get_settings()
    ttl = token_ttl()
    now = utcnow()
    claims = {
        "sub": str(user.id),
        "sid": session_id,
        "role": user.role.value,
        "iat": now,
        "exp": now + timedelta(seconds=ttl),
        "typ": "access",
    }
    return jwt.encode(claims, settings.secret_key, algorithm=_ALGORITHM), ttl


def decode_access_token(token: str) -> tuple[int, str] | None:
    """The user id and session id of a valid, unexpired access token; None otherwise."""
    try:
        claims = jwt.decode(token, get_settings().secret_key, algorithms=[_ALGORITHM])
        if claims.get("typ") != "access":
            return None
        return int(claims["sub"]), str(claims["sid"])
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        return None


def set_session_cookie(response: Response, token: str, ttl: int, session_id: str) -> None:
    """The page session: the same token in an HttpOnly, SameSite=Lax cookie (Secure in production),
    and the session's CSRF token in a cookie the pages' scripts read."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=ttl,
        httponly=True,
        samesite="lax",
        secure=get_settings().env == "production",
    )
    csrf.set_csrf_cookie(response, session_id, ttl)


def clear_session_cookies(response: Response) -> None:
    """Drop the session and CSRF cookies."""
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(csrf.CSRF_COOKIE)


def client_address(request: Request) -> str:
    """The caller's address as the server sees it (the trusted-proxy setting is issue 22 item 6)."""
    return request.client.host if request.client else "unknown"


def _unauthorized(message: str = "authentication required") -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"})


def _token_from(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str | None:
    if credentials is not None:
        return credentials.credentials
    return request.cookies.get(SESSION_COOKIE)


def load_principal(user_id: int, session_id: str) -> Principal | None:
    """The principal of a live session of this active account, read from the database; None otherwise."""
    with read_session() as session:
        found = sessions.active(session, session_id)
        if found is None or found[0].id != user_id:
            return None
        user, row = found
        return Principal(
            kind="user",
            user_id=user.id,
            username=user.username,
            role=user.role,
            session_id=row.id,
            enrolment_only=row.enrolment_only,
        )


# While MFA enrolment is pending, a session may reach only these routes.
ENROLMENT_PATHS = frozenset(
    {
        "/api/v1/auth/me",
        "/api/v1/auth/logout",
        "/api/v1/auth/mfa/setup",
        "/api/v1/auth/mfa/enable",
        "/admin/mfa",
        "/admin/mfa/setup",
        "/admin/mfa/enable",
        "/admin/logout",
    }
)


class MfaEnrolmentRequired(HTTPException):
    """The account must set up two-factor sign-in before anything else."""

    def __init__(self) -> None:
        super().__init__(
            status.HTTP_403_FORBIDDEN,
            "two-factor sign-in is required for this account: set it up first (POST /api/v1/auth/mfa/setup)",
        )


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, from a bearer token or the session cookie; 401 when absent or invalid."""
    # async, with no session of its own: on the (usual) cache hit this is pure CPU, and a thread hop
    # would cost more than the check.
    token = _token_from(request, credentials)
    if not token:
        raise _unauthorized()
    settings = get_settings()
    if hmac.compare_digest(token.encode(), settings.service_token.encode()):
        if credentials is None:  # kefu's own processes send a header; a browser holding it is a leak
            raise _unauthorized("the service token is not accepted as a cookie")
        return Principal(kind="service")
    ids = _verified_tokens.get((settings.secret_key, token))
    if ids is None:
        try:
            claims = jwt.decode(token, settings.secret_key, algorithms=[_ALGORITHM])
            ids = (int(claims["sub"]), str(claims["sid"]))
        except (jwt.PyJWTError, KeyError, ValueError) as exc:
            raise _unauthorized("invalid or expired token") from exc
        if isinstance(claims.get("exp"), int | float):
            _verified_tokens.put((settings.secret_key, token), ids, float(claims["exp"]))
    principal = _session_cache.get(ids[1])
    if principal is None or principal.user_id != ids[0]:
        principal = await run_in_threadpool(load_principal, *ids)  # the database is read off the loop
        if principal is None:
            raise _unauthorized("session ended, or account disabled or removed")
        _session_cache.put(ids[1], principal, time.monotonic() + ACCOUNT_TTL)
    if credentials is None:  # the cookie: a browser sends it on its own, so changes need proof of intent
        await csrf.check(request, principal.session_id)
    if principal.enrolment_only and request.url.path not in ENROLMENT_PATHS:
        raise MfaEnrolmentRequired()
    return principal


class _Expiring(Generic[K, V]):
    """Entries that stop counting at their own deadline on `clock`; at most 10,000, then cleared."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._entries: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None or self._clock() >= entry[0]:
            return None
        return entry[1]

    def put(self, key: K, value: V, until: float) -> None:
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[key] = (until, value)

    def forget(self, key: K) -> None:
        self._entries.pop(key, None)

    def forget_where(self, predicate: Callable[[V], bool]) -> None:
        for key in [k for k, (_, value) in list(self._entries.items()) if predicate(value)]:
            self._entries.pop(key, None)


# Sessions read in the last ACCOUNT_TTL seconds, per process, by session id: revocation, deactivation
# and role changes apply within that time in every worker without a database round trip per request.
ACCOUNT_TTL = 2.0
_session_cache: _Expiring[str, Principal] = _Expiring(time.monotonic)
# Tokens whose signature this process has checked, by (signing key, token), until they expire: a
# client sends the same token with every request, and checking its signature and decoding it again
# each time was a tenth of a contact lookup's time. The expiry is the token's own, on the wall clock.
_verified_tokens: _Expiring[tuple[str, str], tuple[int, str]] = _Expiring(time.time)


def forget_account(user_id: int) -> None:
    """Drop an account's cached sessions at once (this process), e.g. after an admin changes it."""
    _session_cache.forget_where(lambda principal: principal.user_id == user_id)


def forget_session(session_id: str) -> None:
    """Drop one cached session at once (this process), e.g. after it is revoked."""
    _session_cache.forget(session_id)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_role(*roles: Role, allow_service: bool = False) -> Any:
    """Dependency: the caller must hold one of `roles` (admins always pass); 403 otherwise."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if principal.kind == "service":
            if allow_service:
                return principal
            raise HTTPException(status.HTTP_403_FORBIDDEN, "this route is not for service callers")
        if principal.is_admin or principal.role in roles:
            return principal
        needed = " or ".join(r.value for r in roles)
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"this route needs the {needed} role")

    return Depends(check)
