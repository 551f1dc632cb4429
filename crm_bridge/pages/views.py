"""Admin pages: HTML shells whose ES-module scripts (static/admin.js, static/console/, ...) call the JSON API.

The pages authenticate with the same HttpOnly `kefu_session` cookie as POST /api/v1/auth/token.
Nobody logged in is redirected to the login page; a non-admin gets a 403 page.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from crm_bridge.db import DbSession
from crm_bridge.users import service
from crm_bridge.users.auth import (
    SESSION_COOKIE,
    Principal,
    create_access_token,
    current_principal,
    set_session_cookie,
)
from crm_bridge.users.models import Role
from kefu_core.settings import get_settings

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


class NotAdmin(Exception):
    """Logged in, but not as an admin."""

    def __init__(self, principal: Principal) -> None:
        super().__init__(principal.username)
        self.principal = principal


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A template rendered with the security headers."""
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
            except NotAdmin as exc:
                return render(request, "forbidden.html", status_code=403, user=exc.principal.username)

        return guarded


async def page_admin(request: Request) -> Principal:
    """The logged-in admin (from the session cookie); NeedLogin or NotAdmin otherwise."""
    target = request.url.path
    try:
        principal = await current_principal(request, None)
    except HTTPException as exc:
        raise NeedLogin(target) from exc
    if not principal.is_admin:
        raise NotAdmin(principal)
    return principal


PageAdmin = Annotated[Principal, Depends(page_admin)]


async def page_agent(request: Request) -> Principal:
    """The logged-in agent or admin (the agent console); NeedLogin otherwise."""
    try:
        principal = await current_principal(request, None)
    except HTTPException as exc:
        raise NeedLogin(request.url.path) from exc
    if principal.role is None:
        raise NotAdmin(principal)
    return principal


PageAgent = Annotated[Principal, Depends(page_agent)]
router = APIRouter(prefix="/admin", tags=["admin pages"], route_class=PageRoute, include_in_schema=False)


def _safe_next(value: str | None) -> str:
    """Only a path inside the admin pages (no open redirect)."""
    value = value or ""
    inside = value.startswith("/admin/") and "//" not in value and "\\" not in value
    if inside and not value.startswith(("/admin/login", "/admin/logout", "/admin/static")):
        return value
    return "/admin/kb"


@router.get("", response_class=HTMLResponse)
def admin_root() -> RedirectResponse:
    """The admin home is the knowledge-base list."""
    return RedirectResponse("/admin/kb", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    """The login form."""
    return render(request, "login.html", next=_safe_next(next), error=None, username="")


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    session: DbSession,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    """Check the credentials, set the session cookie and go on; the form again (401) when wrong."""
    user = service.authenticate(session, username=username, password=password)
    if user is None:
        return render(
            request,
            "login.html",
            status_code=401,
            next=_safe_next(next),
            error="Wrong username or password.",
            username=username,
        )
    token, ttl = create_access_token(user)
    target = _safe_next(next)
    if user.role is not Role.admin and target.startswith("/admin/kb"):
        target = "/admin/agent"  # the knowledge-base pages are for admins: agents land on the console
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, token, ttl)
    return response


@router.post("/logout")
def logout() -> RedirectResponse:
    """Drop the session cookie and show the login page."""
    response = RedirectResponse("/admin/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/kb", response_class=HTMLResponse)
def kb_list(request: Request, admin: PageAdmin) -> HTMLResponse:
    """Entries with filters (status, language, category, text)."""
    return render(request, "kb_list.html", user=admin.username, page="kb-list", nav="list")


@router.get("/kb/new", response_class=HTMLResponse)
def kb_new(request: Request, admin: PageAdmin) -> HTMLResponse:
    """The form for a new entry."""
    return render(request, "kb_edit.html", user=admin.username, page="kb-edit", nav="new", faq_id="")


@router.get("/kb/try", response_class=HTMLResponse)
def kb_try(request: Request, admin: PageAdmin) -> HTMLResponse:
    """Ask a question and see the ranked candidates, their scores and the decision."""
    return render(request, "kb_try.html", user=admin.username, page="kb-try", nav="try")


@router.get("/kb/import", response_class=HTMLResponse)
def kb_import(request: Request, admin: PageAdmin) -> HTMLResponse:
    """Upload a JSONL or CSV file (with progress); export links."""
    return render(request, "kb_import.html", user=admin.username, page="kb-import", nav="import")


@router.get("/kb/unanswered", response_class=HTMLResponse)
def kb_unanswered(request: Request, admin: PageAdmin) -> HTMLResponse:
    """The unanswered-questions inbox, grouped, with actions to resolve each group."""
    return render(request, "kb_unanswered.html", user=admin.username, page="kb-unanswered", nav="unanswered")


@router.get("/kb/{faq_id}", response_class=HTMLResponse)
def kb_edit(request: Request, admin: PageAdmin, faq_id: str) -> HTMLResponse:
    """The form for an existing entry (loaded by the script)."""
    return render(request, "kb_edit.html", user=admin.username, page="kb-edit", nav="list", faq_id=faq_id)


@router.get("/agent", response_class=HTMLResponse)
def agent_console(request: Request, principal: PageAgent) -> HTMLResponse:
    """The agent console: queue, live chats, customer panel (static/console/ talks to the agent API)."""
    return render(
        request,
        "agent.html",
        user=principal.username,
        role=principal.role.value if principal.role else "",
        user_id=principal.user_id,
        sla_seconds=get_settings().chat_first_response_seconds,
        page="agent-console",
        nav="console",
    )


@router.get("/agent/canned", response_class=HTMLResponse)
def agent_canned(request: Request, admin: PageAdmin) -> HTMLResponse:
    """Canned replies in English and Chinese (admins)."""
    return render(
        request, "agent_canned.html", user=admin.username, role="admin", page="agent-canned", nav="canned"
    )


@router.get("/agent/load", response_class=HTMLResponse)
def agent_load(request: Request, admin: PageAdmin) -> HTMLResponse:
    """Every agent's online flag, active chats and limit (admins)."""
    return render(
        request, "agent_load.html", user=admin.username, role="admin", page="agent-load", nav="load"
    )
