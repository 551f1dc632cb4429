"""Signing in and out of the pages, and two-factor enrolment (setup, QR code, recovery codes)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from crm_bridge.audit import service as audit
from crm_bridge.db import DbSession
from crm_bridge.errors import retry_after
from crm_bridge.pages.guard import PageAgent, PageRoute, render
from crm_bridge.users import audit_events, csrf, mfa, service, sessions
from crm_bridge.users import login as signin
from crm_bridge.users.auth import (
    Principal,
    clear_session_cookies,
    client_address,
    current_principal,
    forget_account,
    forget_session,
    set_session_cookie,
)
from crm_bridge.users.models import Role
from crm_bridge.users.throttle import LoginLocked
from kefu_core.errors import Conflict, DomainError, Invalid

router = APIRouter(route_class=PageRoute)
Field = Annotated[str, Form(max_length=1000)]


def _safe_next(value: str | None) -> str:
    """Only a path inside the admin pages (no open redirect)."""
    value = value or ""
    inside = value.startswith("/admin/") and "//" not in value and "\\" not in value
    if inside and not value.startswith(("/admin/login", "/admin/logout", "/admin/static", "/admin/mfa")):
        return value
    return "/admin/kb"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    """The login form."""
    return render(request, "login.html", next=_safe_next(next), error=None, username="", pending=None)


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    session: DbSession,
    username: Field = "",
    password: Field = "",
    next: Annotated[str | None, Form(max_length=500)] = None,
    pending: Annotated[str | None, Form(max_length=1000)] = None,
    code: Annotated[str | None, Form(max_length=64)] = None,
) -> Response:
    """Password first; then the TOTP code when the account has one; set the session cookies and go on."""
    target = _safe_next(next)
    form: dict[str, Any] = {"next": target, "username": username, "pending": pending}
    if csrf.foreign_origin(request):  # nobody may sign a visitor in from another site
        return render(request, "login.html", status_code=403, error="Sign in from this page.", **form)
    address = client_address(request)
    try:
        if pending:
            user = signin.pending_user(session, pending)
            signin.check_code(session, user=user, code=code, address=address)
        else:
            user = signin.check_password(session, username=username, password=password, address=address)
            if user.mfa_enabled:
                form["pending"] = signin.pending_token(user)
                return render(request, "login.html", error=None, **form)
        signed = signin.open_session(session, user=user, user_agent=request.headers.get("user-agent"))
        audit_events.signed_in(session, request, signed, via="page")
        session.commit()
    except (LoginLocked, signin.InvalidCode, signin.InvalidCredentials) as exc:
        audit_events.login_failed(request, username=username, error=exc, via="page")
        return _refused(request, exc, form)
    except signin.MfaRequired as exc:
        return render(request, "login.html", status_code=401, error=exc.message, **form)
    if signed.enrolment_only:
        target = "/admin/mfa"
    elif signed.user.role is not Role.admin and target.startswith("/admin/kb"):
        target = "/admin/agent"  # the knowledge-base pages are for admins: agents land on the console
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, signed.token, signed.ttl, signed.session_id)
    return response


def _refused(request: Request, exc: DomainError, form: dict[str, Any]) -> Response:
    """The login page again, with why the sign-in failed."""
    if isinstance(exc, LoginLocked):
        form["pending"] = None
        page = render(request, "login.html", status_code=429, error=exc.message, **form)
        page.headers.update(retry_after(exc) or {})
        return page
    if isinstance(exc, signin.InvalidCode):
        return render(request, "login.html", status_code=401, error=exc.message, **form)
    form["pending"] = None
    return render(request, "login.html", status_code=401, error=_sentence(exc.message), **form)


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + "."


def _revoke(session: Session, session_id: str, request: Request, principal: Principal) -> None:
    sessions.revoke(session, session_id=session_id)
    audit.record(
        session, request, principal, action="auth.logout", target_type="user", target_id=principal.user_id
    )
    session.commit()


@router.post("/logout")
async def logout(request: Request, session: DbSession) -> RedirectResponse:
    """End the session (its token stops working everywhere) and show the login page."""
    try:
        principal = await current_principal(request, None)  # a form with the CSRF token: csrf.check
    except HTTPException:
        principal = None  # no live session: only the cookies to drop
    if principal is not None and principal.session_id is not None:
        await run_in_threadpool(_revoke, session, principal.session_id, request, principal)
        forget_session(principal.session_id)
    response = RedirectResponse("/admin/login", status_code=303)
    clear_session_cookies(response)
    return response


def _mfa_page(request: Request, principal: PageAgent, session: DbSession, **context: object) -> HTMLResponse:
    user = service.get_or_raise(session, principal.user_id or 0)
    status_code = int(str(context.pop("status_code", 200)))
    return render(
        request,
        "mfa.html",
        status_code=status_code,
        user=user.username,
        role=user.role.value,
        nav="mfa",
        enabled=user.mfa_enabled,
        required=mfa.required_for(user),
        codes_left=mfa.recovery_codes_left(session, user=user) if user.mfa_enabled else 0,
        **context,
    )


@router.get("/mfa", response_class=HTMLResponse)
def mfa_status(request: Request, principal: PageAgent, session: DbSession) -> HTMLResponse:
    """Two-factor sign-in: on or off, and the way to set it up or turn it off."""
    return _mfa_page(request, principal, session)


@router.post("/mfa/setup", response_class=HTMLResponse)
def mfa_setup(request: Request, principal: PageAgent, session: DbSession) -> HTMLResponse:
    """A new secret as a QR code (inline SVG) and text, and the form for the first code."""
    user = service.get_or_raise(session, principal.user_id or 0)
    try:
        uri = mfa.begin_setup(session, user=user)
    except Conflict as exc:
        return _mfa_page(request, principal, session, status_code=409, error=exc.message)
    audit.record(session, request, principal, action="auth.mfa_setup", target_type="user", target_id=user.id)
    session.commit()
    return _mfa_page(request, principal, session, qr=mfa.qr_svg(uri), secret=user.totp_secret)


@router.post("/mfa/enable", response_class=HTMLResponse)
def mfa_enable(
    request: Request, principal: PageAgent, session: DbSession, code: Annotated[str, Form(max_length=64)]
) -> HTMLResponse:
    """Check the first code; on success show the ten recovery codes once."""
    user = service.get_or_raise(session, principal.user_id or 0)
    try:
        codes = mfa.enable(session, user=user, code=code)
    except (Invalid, Conflict) as exc:
        session.rollback()
        extra = {}
        if user.totp_secret and not user.mfa_enabled:
            extra = {"qr": mfa.qr_svg(mfa.provisioning_uri(user)), "secret": user.totp_secret}
        return _mfa_page(request, principal, session, status_code=422, error=exc.message, **extra)
    audit.record(
        session, request, principal, action="auth.mfa_enabled", target_type="user", target_id=user.id
    )
    if principal.session_id is not None:
        sessions.upgrade_enrolment(session, session_id=principal.session_id)
    session.commit()
    forget_account(user.id)
    return _mfa_page(request, principal, session, recovery_codes=codes)


@router.post("/mfa/disable", response_class=HTMLResponse)
def mfa_disable(
    request: Request, principal: PageAgent, session: DbSession, code: Annotated[str, Form(max_length=64)]
) -> HTMLResponse:
    """Turn two-factor sign-in off with a current code or a recovery code; other sessions end."""
    user = service.get_or_raise(session, principal.user_id or 0)
    try:
        mfa.disable(session, user=user, code=code)
    except (Invalid, Conflict) as exc:
        session.rollback()
        return _mfa_page(request, principal, session, status_code=422, error=exc.message)
    audit.record(
        session, request, principal, action="auth.mfa_disabled", target_type="user", target_id=user.id
    )
    sessions.revoke_all(session, user_id=user.id, except_id=principal.session_id)
    session.commit()
    forget_account(user.id)
    return _mfa_page(request, principal, session, notice="Two-factor sign-in is off.")
