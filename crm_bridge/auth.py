"""Authentication dependencies. The service token lets kefu's own processes (the action server) in."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from crm_bridge.config import get_settings

_bearer = HTTPBearer(auto_error=False)


def require_service(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Allow only callers that present the service token (`Authorization: Bearer …`)."""
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "authentication required", headers={"WWW-Authenticate": "Bearer"}
        )
    expected = get_settings().service_token
    if not hmac.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this token may not use this route")
