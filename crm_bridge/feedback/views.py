"""Feedback routes, and (through contact_views) the contact routes whose work spans tickets and feedback."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from crm_bridge.db import DbSession
from crm_bridge.feedback import contact_views, crm, service
from crm_bridge.feedback.schemas import FeedbackCreate, FeedbackRead, FeedbackSummary
from crm_bridge.pagination import Page, PageParams, page_params, paginate
from crm_bridge.shapes import QueryId
from crm_bridge.users.auth import Principal, require_role
from crm_bridge.users.models import Role

_feedback = APIRouter(prefix="/api/v1/feedback", tags=["feedback"])
# The service token (the action server) reaches only the routes it calls: docs in README "Security".
Agent = Annotated[Principal, require_role(Role.agent)]
AgentOrService = Annotated[Principal, require_role(Role.agent, allow_service=True)]


def _filters(
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    agent_id: QueryId = None,
    contact_id: QueryId = None,
) -> service.FeedbackFilters:
    return service.FeedbackFilters(created_from, created_to, agent_id, contact_id)


Filters = Annotated[service.FeedbackFilters, Depends(_filters)]


@_feedback.get("", response_model=Page[FeedbackRead])
def list_feedback(
    _: Agent, session: DbSession, filters: Filters, page: Annotated[PageParams, Depends(page_params)]
) -> dict[str, Any]:
    """Ratings, newest first, by date range, agent or contact."""
    items, total = paginate(session, service.query(filters), page)
    return {"items": [service.to_read(f) for f in items], "total": total}


@_feedback.post("", response_model=FeedbackRead, status_code=201)
def create_feedback(body: FeedbackCreate, _: AgentOrService, session: DbSession) -> dict[str, Any]:
    """Record a CSAT rating (and optional NPS and comment)."""
    feedback = service.create(session, data=body.model_dump())
    crm.feedback_created(session, feedback)
    session.commit()
    return service.to_read(feedback)


@_feedback.get("/summary", response_model=FeedbackSummary)
def feedback_summary(_: Agent, session: DbSession, filters: Filters) -> dict[str, Any]:
    """Average CSAT, share of 4-5 ratings and NPS over a date range."""
    return service.summary(session, filters)


# What the app includes: the feedback routes, and the contact routes that span tickets and feedback
# (contacts sit below both, so their own router cannot serve them).
router = APIRouter()
router.include_router(_feedback)
router.include_router(contact_views.router)
