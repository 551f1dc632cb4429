"""Admin pages: HTML shells whose ES-module scripts (static/admin.js, static/console/, ...) call the JSON API.

The pages authenticate with the same HttpOnly `kefu_session` cookie as POST /api/v1/auth/token.
Nobody logged in is redirected to the login page; a non-admin gets a 403 page (pages/guard.py).
Signing in and out and two-factor enrolment are in pages/account.py.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from crm_bridge.pages.account import router as account_router
from crm_bridge.pages.guard import STATIC_DIR, PageAdmin, PageAgent, PageRoute, render
from kefu_core.settings import get_settings

__all__ = ["STATIC_DIR", "router"]

router = APIRouter(prefix="/admin", tags=["admin pages"], route_class=PageRoute, include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def admin_root() -> RedirectResponse:
    """The admin home is the knowledge-base list."""
    return RedirectResponse("/admin/kb", status_code=303)


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


@router.get("/channels", response_class=HTMLResponse)
def channels(request: Request, admin: PageAdmin) -> HTMLResponse:
    """Each IM channel: configured or not, the webhook URL to register, its figures (static/channels.js)."""
    return render(
        request, "channels.html", user=admin.username, role="admin", page="channels", nav="channels"
    )


@router.get("/audit", response_class=HTMLResponse)
def audit_log(request: Request, admin: PageAdmin) -> HTMLResponse:
    """The audit log with filters and a CSV export (static/audit.js reads GET /api/v1/audit)."""
    return render(request, "audit.html", user=admin.username, role="admin", page="audit", nav="audit")


@router.get("/jobs", response_class=HTMLResponse)
def dead_jobs(request: Request, admin: PageAdmin) -> HTMLResponse:
    """Dead jobs, replayed one by one or all at once (static/jobs.js)."""
    return render(request, "jobs.html", user=admin.username, role="admin", page="jobs", nav="jobs")


router.include_router(account_router)
