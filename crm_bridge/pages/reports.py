"""The Reports pages: the dashboard (/admin/reports) and the figures behind a number (its drill-down).

Both are HTML shells; static/reports.js and static/reports_drilldown.js read GET /api/v1/reports/*.
Admins and agents may open them: the API narrows an agent's figures to their own, so the pages need
not (they only hide the agent filter from an agent, since the API ignores it for them).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from crm_bridge.pages.guard import PageAgent, PageRoute, render

router = APIRouter(prefix="/admin", tags=["admin pages"], route_class=PageRoute, include_in_schema=False)


@router.get("/reports", response_class=HTMLResponse)
def reports_dashboard(request: Request, principal: PageAgent) -> HTMLResponse:
    """KPIs against their targets, trend charts and breakdowns for a period and segment (in the URL)."""
    return render(
        request,
        "reports.html",
        user=principal.username,
        role=principal.role.value if principal.role else "",
        page="reports",
        nav="reports",
    )


@router.get("/reports/drilldown", response_class=HTMLResponse)
def reports_drilldown(request: Request, principal: PageAgent) -> HTMLResponse:
    """The conversations or tickets behind one figure, paged, with the CSV export of the same filters."""
    return render(
        request,
        "reports_drilldown.html",
        user=principal.username,
        role=principal.role.value if principal.role else "",
        page="reports-drilldown",
        nav="reports",
    )
