"""Dead jobs for admins: list them, put them back on the queue (the same as `kefu jobs`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from crm_bridge.audit import service as audit
from crm_bridge.db import DbSession
from crm_bridge.jobs import service
from crm_bridge.jobs.models import DeadJobStatus
from crm_bridge.jobs.schemas import DeadJobRead, ReplayRequest, ReplayResponse
from crm_bridge.pagination import Page, PageParams, page_params
from crm_bridge.users.auth import Principal, require_role
from crm_bridge.users.models import Role

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])
AdminOnly = Annotated[Principal, require_role(Role.admin)]


@router.get("/dead", response_model=Page[DeadJobRead])
def list_dead(
    _: AdminOnly,
    session: DbSession,
    paging: Annotated[PageParams, Depends(page_params)],
    status: Annotated[DeadJobStatus, Query(description="dead (waiting for a replay) or replayed")] = (
        DeadJobStatus.dead
    ),
) -> Page[DeadJobRead]:
    """Jobs whose retries ran out, oldest first."""
    items, total = service.dead_page(session, status, limit=paging.limit, offset=paging.offset)
    return Page[DeadJobRead](items=[DeadJobRead.of(job) for job in items], total=total)


@router.post("/dead/replay", response_model=ReplayResponse)
def replay(body: ReplayRequest, principal: AdminOnly, session: DbSession, request: Request) -> ReplayResponse:
    """Put the given dead jobs (or every dead one) back on the queue; 404 names ids that are not dead."""
    jobs = service.replay(session, body.ids)
    audit.record(
        session,
        request,
        principal,
        action="jobs.replay",
        target_type="job",
        details={"ids": [job.id for job in jobs][:100], "count": len(jobs)},
    )
    session.commit()
    return ReplayResponse(replayed=[job.id for job in jobs])
