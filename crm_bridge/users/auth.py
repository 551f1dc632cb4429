"""Authentication and roles: bearer tokens (OAuth2 password flow), a cookie session for pages,
and the service token kefu's own processes (the action server) use.

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

    @property
    def is_admin(self) -> bool:
        """Admins may do everything agents may."""
        return self.role is Role.admin


def create_access_token(user: User) -> tuple[str, int]:
    """A signed token for `user` and its lifetime in seconds."""
    settings = get_settings()
    ttl = timedelta(minutes=settings.token_ttl_minutes)
    now = utcnow()
    claims = {"sub": str(user.id), "role": user.role.value, "iat": now, "exp": now + ttl, "typ": "access"}
    return jwt.encode(claims, settings.secret_key, algorithm=_ALGORITHM), int(ttl.total_seconds())


def set_session_cookie(response: Response, token: str, ttl: int) -> None:
    """The page session: the same token in an HttpOnly, SameSite=Lax cookie (Secure in production)."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=ttl,
        httponly=True,
        samesite="lax",
        secure=get_settings().env == "production",
    )


def _unauthorized(message: str = "authentication required") -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"})


def _token_from(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str | None:
    if credentials is not None:
        return credentials.credentials
    return request.cookies.get(SESSION_COOKIE)


def _load_principal(user_id: int) -> Principal | None:
    """The active account with this id as a principal, read from the database; None if there is none."""
    with read_session() as session:
        user = session.get(User, user_id)
        if user is None or not user.active:
            return None
        return Principal(kind="user", user_id=user.id, username=user.username, role=user.role)


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
        return Principal(kind="service")
    user_id = _verified_tokens.get((settings.secret_key, token))
    if user_id is None:
        try:
            claims = jwt.decode(token, settings.secret_key, algorithms=[_ALGORITHM])
            user_id = int(claims["sub"])
        except (jwt.PyJWTError, KeyError, ValueError) as exc:
            raise _unauthorized("invalid or expired token") from exc
        if isinstance(claims.get("exp"), int | float):
            _verified_tokens.put((settings.secret_key, token), user_id, float(claims["exp"]))
    principal = _account_cache.get(user_id)
    if principal is None:
        principal = await run_in_threadpool(_load_principal, user_id)  # the database is read off the loop
        if principal is None:
            raise _unauthorized("account disabled or removed")
        _account_cache.put(user_id, principal, time.monotonic() + ACCOUNT_TTL)
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


# Accounts read in the last ACCOUNT_TTL seconds, per process: deactivation and role changes apply
# within that time without a database round trip on every request.
ACCOUNT_TTL = 2.0
_account_cache: _Expiring[int, Principal] = _Expiring(time.monotonic)
# Tokens whose signature this process has checked, by (signing key, token), until they expire: a
# client sends the same token with every request, and checking its signature and decoding it again
# each time was a tenth of a contact lookup's time. The expiry is the token's own, on the wall clock.
_verified_tokens: _Expiring[tuple[str, str], int] = _Expiring(time.time)


def forget_account(user_id: int) -> None:
    """Drop a cached account at once (this process), e.g. after an admin changes it."""
    _account_cache.forget(user_id)


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
