"""GET /api/v1/audit and /api/v1/audit.csv: the audit log for admins. Read-only: no route changes or
deletes an entry (the retention job alone deletes old ones; the database enforces it, migration 0015).

Served from here rather than from crm_bridge/audit: the routes need accounts and roles, and the
accounts' routes record into the audit log, which therefore imports nothing of them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session

from crm_bridge.audit import export
from crm_bridge.audit import service as audit
from crm_bridge.audit.schemas import AuditRead
from crm_bridge.db import DbSession
from crm_bridge.pagination import Page, PageParams, page_params, paginate
from crm_bridge.shapes import QueryId
from crm_bridge.users.auth import Principal, require_role
from crm_bridge.users.models import Role

router = APIRouter(tags=["audit log"])
AdminOnly = Annotated[Principal, require_role(Role.admin)]
MAX_CSV_ROWS = 100_000


def _utc(value: datetime | None) -> datetime | None:
    """A time without a zone is UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def audit_filters(
    actor_id: QueryId = None,
    action: Annotated[
        str | None, Query(max_length=64, description='exact, or a prefix ending in "." (e.g. "auth.")')
    ] = None,
    target_type: Annotated[str | None, Query(max_length=32)] = None,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
    start: Annotated[datetime | None, Query(alias="from", description="at or after (UTC if no zone)")] = None,
    end: Annotated[datetime | None, Query(alias="to", description="before (UTC if no zone)")] = None,
) -> audit.Filters:
    """The filters shared by the list and the CSV export."""
    return audit.Filters(actor_id, action, target_type, target_id, _utc(start), _utc(end))


Filters = Annotated[audit.Filters, Depends(audit_filters)]


@router.get("/audit", response_model=Page[AuditRead])
def list_audit(
    _: AdminOnly, session: DbSession, filters: Filters, page: Annotated[PageParams, Depends(page_params)]
) -> dict[str, Any]:
    """Entries, newest first, by actor, action, target and time (admin)."""
    items, total = paginate(session, audit.list_query(filters), page)
    return {"items": items, "total": total}


def _details(filters: audit.Filters) -> dict[str, Any]:
    named = {k: v for k, v in vars(filters).items() if v is not None}
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in named.items()}


def _csv(session: Session, filters: audit.Filters) -> tuple[str, bool]:
    rows = list(session.scalars(audit.list_query(filters).limit(MAX_CSV_ROWS + 1)))
    return "".join(export.csv_lines(rows[:MAX_CSV_ROWS])), len(rows) > MAX_CSV_ROWS


@router.get("/audit.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def export_audit(request: Request, principal: AdminOnly, session: DbSession, filters: Filters) -> Response:
    """The matching entries as CSV, newest first, at most 100,000 (then `X-Audit-Truncated: true`:
    narrow with from/to). Cells a spreadsheet would run as formulas start with a '. The export is
    itself recorded (`audit.export`)."""
    body, truncated = _csv(session, filters)
    audit.record(
        session, request, principal, action="audit.export", target_type="audit_log", details=_details(filters)
    )
    session.commit()
    headers = {"Content-Disposition": 'attachment; filename="kefu-audit.csv"'}
    if truncated:
        headers["X-Audit-Truncated"] = "true"
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)
