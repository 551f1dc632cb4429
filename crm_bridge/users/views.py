"""Auth and user-administration routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import select

from crm_bridge.db import DbSession
from crm_bridge.pagination import Page, PageParams, page_params, paginate
from crm_bridge.shapes import PathId
from crm_bridge.users import service
from crm_bridge.users.auth import (
    SESSION_COOKIE,
    CurrentPrincipal,
    Principal,
    create_access_token,
    forget_account,
    require_role,
    set_session_cookie,
)
from crm_bridge.users.models import Role, User
from crm_bridge.users.schemas import Token, UserCreate, UserRead, UserUpdate
from kefu_core.errors import DomainError

router = APIRouter(prefix="/api/v1", tags=["auth and users"])
AdminOnly = Annotated[Principal, require_role(Role.admin)]


class InvalidCredentials(DomainError):
    """Wrong username or password."""

    status_code = 401
    code = "invalid_credentials"


@router.post("/auth/token", response_model=Token)
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], session: DbSession, response: Response
) -> Token:
    """OAuth2 password flow. Also sets an HttpOnly session cookie for the pages."""
    user = service.authenticate(session, username=form.username, password=form.password)
    if user is None:
        raise InvalidCredentials("wrong username or password")
    token, ttl = create_access_token(user)
    set_session_cookie(response, token, ttl)
    return Token(access_token=token, expires_in=ttl)


@router.post("/auth/logout", status_code=204)
def logout(response: Response) -> Response:
    """Drop the session cookie."""
    response.delete_cookie(SESSION_COOKIE)
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
def create_user(body: UserCreate, _: AdminOnly, session: DbSession) -> User:
    """Create an agent or admin (admin)."""
    user = service.create(session, **body.model_dump())
    session.commit()
    return user


@router.get("/users/{user_id}", response_model=UserRead)
def get_user(user_id: PathId, _: AdminOnly, session: DbSession) -> User:
    """One account (admin)."""
    return service.get_or_raise(session, user_id)


@router.patch("/users/{user_id}", response_model=UserRead)
def update_user(user_id: PathId, body: UserUpdate, principal: AdminOnly, session: DbSession) -> User:
    """Change role, languages, limits, password or deactivate (admin; not one's own role or account: 409)."""
    user = service.update(
        session,
        user=service.get_or_raise(session, user_id),
        changes=body.model_dump(exclude_unset=True),
        actor_id=principal.user_id,
    )
    session.commit()
    forget_account(user_id)
    return user
