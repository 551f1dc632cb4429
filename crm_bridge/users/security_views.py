"""The signed-in user's own security routes: two-factor sign-in and sessions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status

from crm_bridge.audit import service as audit
from crm_bridge.db import DbSession
from crm_bridge.users import mfa, service, sessions
from crm_bridge.users.auth import CurrentPrincipal, Principal, forget_account, forget_session
from crm_bridge.users.schemas import MfaCode, MfaEnabled, MfaSetup, SessionRead
from kefu_core.errors import DomainError, NotFound

router = APIRouter(tags=["auth and users"])


def _user_id(principal: Principal) -> int:
    if principal.user_id is None:
        raise DomainError("the service token has no user")
    return principal.user_id


@router.post("/auth/mfa/setup", response_model=MfaSetup)
def mfa_setup(principal: CurrentPrincipal, session: DbSession, request: Request) -> MfaSetup:
    """Start enrolment: a new TOTP secret, its otpauth:// URI and QR code (on only after /mfa/enable)."""
    user = service.get_or_raise(session, _user_id(principal))
    uri = mfa.begin_setup(session, user=user)
    audit.record(session, request, principal, action="auth.mfa_setup", target_type="user", target_id=user.id)
    session.commit()
    return MfaSetup(secret=user.totp_secret or "", otpauth_uri=uri, qr_svg=mfa.qr_svg(uri))


@router.post("/auth/mfa/enable", response_model=MfaEnabled)
def mfa_enable(
    body: MfaCode, principal: CurrentPrincipal, session: DbSession, request: Request
) -> MfaEnabled:
    """Confirm enrolment with a current code; answers the ten recovery codes, shown this once."""
    user = service.get_or_raise(session, _user_id(principal))
    codes = mfa.enable(session, user=user, code=body.code)
    audit.record(
        session, request, principal, action="auth.mfa_enabled", target_type="user", target_id=user.id
    )
    if principal.session_id is not None:
        sessions.upgrade_enrolment(session, session_id=principal.session_id)
    session.commit()
    forget_account(user.id)
    return MfaEnabled(recovery_codes=codes)


@router.post("/auth/mfa/disable", status_code=204)
def mfa_disable(body: MfaCode, principal: CurrentPrincipal, session: DbSession, request: Request) -> Response:
    """Turn two-factor sign-in off with a current code or a recovery code; other sessions end."""
    user = service.get_or_raise(session, _user_id(principal))
    mfa.disable(session, user=user, code=body.code)
    audit.record(
        session, request, principal, action="auth.mfa_disabled", target_type="user", target_id=user.id
    )
    sessions.revoke_all(session, user_id=user.id, except_id=principal.session_id)
    session.commit()
    forget_account(user.id)
    return Response(status_code=204)


@router.get("/auth/sessions", response_model=list[SessionRead])
def list_sessions(
    principal: CurrentPrincipal,
    session: DbSession,
    user_id: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="admins: another user's")] = None,
) -> list[SessionRead]:
    """Your live sessions, newest first (admins: another user's with ?user_id=)."""
    target = _user_id(principal) if user_id is None else user_id
    if target != principal.user_id and not principal.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only admins may list another user's sessions")
    rows = sessions.list_active(session, user_id=target)
    return [
        SessionRead.model_validate(row).model_copy(update={"current": row.id == principal.session_id})
        for row in rows
    ]


@router.delete("/auth/sessions/{session_id}", status_code=204)
def delete_session(
    session_id: Annotated[str, Path(max_length=64)],
    principal: CurrentPrincipal,
    session: DbSession,
    request: Request,
) -> Response:
    """End one of your sessions (admins: anyone's); its token stops working within 2 s everywhere."""
    row = sessions.get_or_raise(session, session_id)
    if row.user_id != _user_id(principal) and not principal.is_admin:
        raise NotFound("session not found")  # another user's session: not even its existence is told
    sessions.revoke(session, session_id=row.id)
    audit.record(
        session, request, principal, action="auth.session_revoked", target_type="user", target_id=row.user_id
    )
    session.commit()
    forget_session(row.id)
    return Response(status_code=204)
