"""The Reports pages: the dashboard (/admin/reports), the figures behind a number (its drill-down), the
voice of the customer (/admin/reports/voice) and the contacts at risk (/admin/reports/at-risk).

All are HTML shells; static/reports*.js read GET /api/v1/reports/*. Admins and agents may open them: the
API narrows an agent's figures to their own, so the pages need not (they only hide the agent filter from
an agent where the API ignores it). Voice and topics quote customers' words and are admins' only: the
voice page shows an agent a note instead (the API would answer 403).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from crm_bridge.pages.guard import PageAgent, PageRoute, render

router = APIRouter(prefix="/admin", tags=["admin pages"], route_class=PageRoute, include_in_schema=False)


def _page(request: Request, principal: PageAgent, template: str, page: str) -> HTMLResponse:
    return render(
        request,
        template,
        user=principal.username,
        role=principal.role.value if principal.role else "",
        page=page,
        nav="reports",
    )


@router.get("/reports", response_class=HTMLResponse)
def reports_dashboard(request: Request, principal: PageAgent) -> HTMLResponse:
    """KPIs against their targets, trend charts and breakdowns for a period and segment (in the URL)."""
    return _page(request, principal, "reports.html", "reports")


@router.get("/reports/drilldown", response_class=HTMLResponse)
def reports_drilldown(request: Request, principal: PageAgent) -> HTMLResponse:
    """The conversations or tickets behind one figure, paged, with the CSV export of the same filters."""
    return _page(request, principal, "reports_drilldown.html", "reports-drilldown")


@router.get("/reports/voice", response_class=HTMLResponse)
def reports_voice(request: Request, principal: PageAgent) -> HTMLResponse:
    """Voice of the customer and what customers ask most (admins; an agent is told they are admins')."""
    return _page(request, principal, "reports_voice.html", "reports-voice")


@router.get("/reports/at-risk", response_class=HTMLResponse)
def reports_at_risk(request: Request, principal: PageAgent) -> HTMLResponse:
    """The contacts at risk of leaving, paged (agents and admins)."""
    return _page(request, principal, "reports_at_risk.html", "reports-at-risk")
