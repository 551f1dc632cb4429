"""Authentication and roles, importable from here as before; the code is in crm_bridge.users.auth
(the users routes need it, so it sits in users rather than above it)."""

from crm_bridge.users.auth import (
    SESSION_COOKIE,
    CurrentPrincipal,
    Principal,
    create_access_token,
    current_principal,
    forget_account,
    require_role,
    set_session_cookie,
)

__all__ = [
    "SESSION_COOKIE",
    "CurrentPrincipal",
    "Principal",
    "create_access_token",
    "current_principal",
    "forget_account",
    "require_role",
    "set_session_cookie",
]
