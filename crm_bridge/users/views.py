"""Auth and user-administration routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, OAuth2PasswordRequestForm
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.audit import service as audit
from crm_bridge.db import DbSession
from crm_bridge.pagination import Page, PageParams, page_params, paginate
from crm_bridge.shapes import PathId
from crm_bridge.users import audit_events, service, sessions
from crm_bridge.users import login as signin
from crm_bridge.users.audit_views import router as audit_router
from crm_bridge.users.auth import (
    CurrentPrincipal,
    Principal,
    clear_session_cookies,
    client_address,
    current_principal,
    forget_account,
    forget_session,
    require_role,
    set_session_cookie,
)
from crm_bridge.users.models import Role, User
from crm_bridge.users.schemas import Token, UserCreate, UserRead, UserUpdate
from crm_bridge.users.security_views import router as security_router
from kefu_core.errors import DomainError

router = APIRouter(prefix="/api/v1", tags=["auth and users"])
AdminOnly = Annotated[Principal, require_role(Role.admin)]
# A change to any of these ends the account's sessions: whoever held them must sign in again.
REVOKING_CHANGES = frozenset({"password", "role", "active"})


@router.post("/auth/token", response_model=Token)
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    session: DbSession,
    response: Response,
    code: Annotated[
        str | None, Form(max_length=64, description="TOTP or recovery code, when enrolled")
    ] = None,
) -> Token:
    """OAuth2 password flow (plus `code` for accounts with MFA). Also sets the page session cookies.

    Failed attempts are counted per account name and per address: past the limit the answer is 429 with
    Retry-After, whether or not the account exists."""
    try:
        signed = signin.sign_in(
            session,
            username=form.username,
            password=form.password,
            code=code,
            address=client_address(request),
            user_agent=request.headers.get("user-agent"),
        )
    except DomainError as exc:
        if audit_events.is_failure(exc):
            audit_events.login_failed(request, username=form.username, error=exc, via="token")
        raise
    audit_events.signed_in(session, request, signed, via="token")
    session.commit()
    set_session_cookie(response, signed.token, signed.ttl, signed.session_id)
    return Token(access_token=signed.token, expires_in=signed.ttl)


def _revoke(session: Session, session_id: str, request: Request, principal: Principal) -> None:
    sessions.revoke(session, session_id=session_id)
    audit.record(
        session, request, principal, action="auth.logout", target_type="user", target_id=principal.user_id
    )
    session.commit()


@router.post("/auth/logout", status_code=204)
async def logout(request: Request, session: DbSession, response: Response) -> Response:
    """End this session (its token stops working everywhere) and drop the session cookies."""
    credentials = None
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=header[7:].strip())
    try:
        principal = await current_principal(request, credentials)
    except HTTPException as exc:
        if exc.status_code != 401:
            raise
        principal = None  # nobody signed in: only the cookies to drop
    if principal is not None and principal.session_id is not None:
        await run_in_threadpool(_revoke, session, principal.session_id, request, principal)
        forget_session(principal.session_id)
    clear_session_cookies(response)
    response.status_code = 204
    return response


@router.get("/auth/me", response_model=UserRead)
def me(principal: CurrentPrincipal, session: DbSession) -> User:
    """The logged-in user."""
    if principal.user_id is None:
        raise DomainError("the service token has no user")
    return service.get_or_raise(session, principal.user_id)


@router.get("/users", response_model=Page[UserRead])
def list_users(_: AdminOnly, session: DbSession, page: Annotated[PageParams, Depends(page_params)]) -> dict:
    """Every account (admin)."""
    items, total = paginate(session, select(User).order_by(User.id), page)
    return {"items": items, "total": total}


@router.post("/users", response_model=UserRead, status_code=201)
def create_user(body: UserCreate, principal: AdminOnly, session: DbSession, request: Request) -> User:
    """Create an agent or admin (admin)."""
    user = service.create(session, **body.model_dump())
    audit.record(
        session,
        request,
        principal,
        action="user.create",
        target_type="user",
        target_id=user.id,
        details={"role": user.role.value},
    )
    session.commit()
    return user


@router.get("/users/{user_id}", response_model=UserRead)
def get_user(user_id: PathId, _: AdminOnly, session: DbSession) -> User:
    """One account (admin)."""
    return service.get_or_raise(session, user_id)


@router.patch("/users/{user_id}", response_model=UserRead)
def update_user(
    user_id: PathId, body: UserUpdate, principal: AdminOnly, session: DbSession, request: Request
) -> User:
    """Change role, languages, limits, password or deactivate (admin; not one's own role or account: 409)."""
    changes = body.model_dump(exclude_unset=True)
    before = service.get_or_raise(session, user_id)
    old_role, was_active = before.role, before.active
    user = service.update(session, user=before, changes=changes, actor_id=principal.user_id)
    audit.record(
        session,
        request,
        principal,
        action="user.update",
        target_type="user",
        target_id=user_id,
        details={"fields": sorted(changes), "active": user.active},
    )
    if user.role is not old_role:
        audit.record(
            session,
            request,
            principal,
            action="user.role_change",
            target_type="user",
            target_id=user_id,
            details={"from": old_role.value, "to": user.role.value},
        )
    if user.active != was_active:
        action = "user.activate" if user.active else "user.deactivate"
        audit.record(session, request, principal, action=action, target_type="user", target_id=user_id)
    if REVOKING_CHANGES & changes.keys():
        sessions.revoke_all(session, user_id=user_id)
    session.commit()
    forget_account(user_id)
    return user


router.include_router(security_router)
router.include_router(audit_router)
