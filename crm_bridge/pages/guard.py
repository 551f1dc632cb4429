"""What every admin page shares: rendering with the security headers and the session's CSRF token,
and the dependencies that send a visitor to the login (or MFA enrolment) page or show the 403 page."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from crm_bridge.users import csrf
from crm_bridge.users.auth import (
    SESSION_COOKIE,
    MfaEnrolmentRequired,
    Principal,
    current_principal,
    decode_access_token,
)

PAGES_DIR = Path(__file__).resolve().parent
STATIC_DIR = PAGES_DIR / "static"
templates = Jinja2Templates(directory=PAGES_DIR / "templates")  # autoescape is on for .html

# Scripts and styles only from this server (no inline script can run, injected or not).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class NeedLogin(Exception):
    """No valid session: go to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class NeedEnrolment(Exception):
    """Signed in, but MFA is required and not set up yet: go to the enrolment page."""


class NotAdmin(Exception):
    """Logged in, but not as an admin."""

    def __init__(self, principal: Principal) -> None:
        super().__init__(principal.username)
        self.principal = principal


def page_csrf_token(request: Request) -> str:
    """The CSRF token of the session the request's cookie names ('' when there is none)."""
    found = decode_access_token(request.cookies.get(SESSION_COOKIE) or "")
    return csrf.token_for(found[1]) if found else ""


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A template rendered with the security headers (and the CSRF token for its forms and scripts)."""
    context.setdefault("csrf_token", page_csrf_token(request))
    return templates.TemplateResponse(
        request, name, context, status_code=status_code, headers=SECURITY_HEADERS
    )


class PageRoute(APIRoute):
    """A route that turns NeedLogin into a redirect and NotAdmin into the 403 page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The default handler, wrapped."""
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except NeedLogin as exc:
                return RedirectResponse(f"/admin/login?next={quote(exc.next_path)}", status_code=303)
            except NeedEnrolment:
                return RedirectResponse("/admin/mfa", status_code=303)
            except NotAdmin as exc:
                return render(request, "forbidden.html", status_code=403, user=exc.principal.username)

        return guarded


async def _page_principal(request: Request) -> Principal:
    try:
        return await current_principal(request, None)
    except MfaEnrolmentRequired as exc:
        raise NeedEnrolment() from exc
    except HTTPException as exc:
        raise NeedLogin(request.url.path) from exc


async def page_admin(request: Request) -> Principal:
    """The logged-in admin (from the session cookie); NeedLogin or NotAdmin otherwise."""
    principal = await _page_principal(request)
    if not principal.is_admin:
        raise NotAdmin(principal)
    return principal


PageAdmin = Annotated[Principal, Depends(page_admin)]


async def page_agent(request: Request) -> Principal:
    """The logged-in agent or admin (the agent console); NeedLogin otherwise."""
    principal = await _page_principal(request)
    if principal.role is None:
        raise NotAdmin(principal)
    return principal


PageAgent = Annotated[Principal, Depends(page_agent)]
