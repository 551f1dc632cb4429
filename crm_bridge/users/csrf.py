"""CSRF defence for requests the session cookie authenticates: a token bound to the session, and the
request must come from this server's own pages (Origin, else Referer).

The token is an HMAC of the session id under the secret key (a signed double-submit): the pages carry
it in a <meta> tag and the readable `kefu_csrf` cookie, scripts send it as X-CSRF-Token and forms as
`csrf_token`. Another site can neither read it nor mint one. Bearer requests carry no ambient
credential and are not checked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlsplit

from fastapi import Request, Response

from kefu_core.errors import DomainError
from kefu_core.settings import get_settings

CSRF_COOKIE = "kefu_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class CsrfRefused(DomainError):
    """A cookie-authenticated change without the session's CSRF token or from another origin."""

    status_code = 403
    code = "csrf_failed"


def token_for(session_id: str) -> str:
    """The CSRF token of a session."""
    mac = hmac.new(get_settings().secret_key.encode(), f"csrf:{session_id}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")


def set_csrf_cookie(response: Response, session_id: str, ttl: int) -> None:
    """The token in a cookie scripts can read (not HttpOnly: reading it is its purpose)."""
    response.set_cookie(
        CSRF_COOKIE,
        token_for(session_id),
        max_age=ttl,
        httponly=False,
        samesite="strict",
        secure=get_settings().env == "production",
    )


def same_origin(request: Request) -> bool:
    """True when Origin (or, without it, Referer) names this server; False when neither is sent."""
    host = request.headers.get("host")
    origin = request.headers.get("origin")
    if origin and origin != "null":
        return urlsplit(origin).netloc == host
    referer = request.headers.get("referer")
    if referer:
        return urlsplit(referer).netloc == host
    return False


def foreign_origin(request: Request) -> bool:
    """True when the request names an origin other than this server (a missing one is not foreign)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    return bool(origin) and urlsplit(origin).netloc != request.headers.get("host")


async def check(request: Request, session_id: str | None) -> None:
    """CsrfRefused unless a state-changing request is same-origin and carries the session's token."""
    if request.method in SAFE_METHODS:
        return
    if not same_origin(request):
        raise CsrfRefused("cross-site request refused: it must come from kefu's own pages")
    sent = request.headers.get(CSRF_HEADER)
    if not sent and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()  # parsed once: the route reads the same cached form
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or session_id is None or not hmac.compare_digest(sent, token_for(session_id)):
        raise CsrfRefused("missing or wrong CSRF token: reload the page and try again")
