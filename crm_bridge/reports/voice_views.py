"""Routes for the voice of the customer, what customers ask most, and the contacts at risk
(docs/reports.md). Voice and topics quote customers' own words across every contact: admins only. The
at-risk list is for agents too (they see every contact anyway), and `agent_id` stays a filter for them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from crm_bridge.db import DbSession
from crm_bridge.kb.views import Retriever
from crm_bridge.pagination import Page, PageParams, page_params
from crm_bridge.reports import at_risk, topics, voice
from crm_bridge.reports.filters import ReportFilter, build_filter
from crm_bridge.reports.views import Filter
from crm_bridge.users.auth import Principal, require_role
from crm_bridge.users.models import Role
from kefu_core.settings import get_settings
from sentiment.analyser import get_analyser

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])
Admin = Annotated[Principal, require_role(Role.admin)]
Agent = Annotated[Principal, require_role(Role.agent)]


def people_filter(
    start: Annotated[str | None, Query(alias="from", max_length=40, description="date or date-time")] = None,
    end: Annotated[
        str | None, Query(alias="to", max_length=40, description="date (inclusive) or date-time")
    ] = None,
    channel: Annotated[str | None, Query(max_length=64)] = None,
    language: Annotated[str | None, Query(max_length=8)] = None,
    agent_id: Annotated[int | None, Query(ge=1)] = None,
    tier: Annotated[str | None, Query(max_length=16)] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
) -> ReportFilter:
    """The reports' filter with the same parameters and 422s, but `agent_id` is never forced: the at-risk
    list is about customers, whom agents see anyway, not about the agent's own figures."""
    return build_filter(
        start=start, end=end, channel=channel, language=language, agent_id=agent_id, tier=tier, tag=tag
    )


PeopleFilter = Annotated[ReportFilter, Depends(people_filter)]


def _label(texts: list[str]) -> list[str | None]:
    """The process's sentiment labels for feedback comments (they carry none); unknown when it fails."""
    try:
        return [a.label for a in get_analyser().analyse_many(texts)]
    except Exception:  # sentiment is advisory: the report goes on without it (no text logged)
        return [None] * len(texts)


@router.get("/voice")
def voice_report(_: Admin, session: DbSession, f: Filter, retriever: Retriever) -> dict[str, Any]:
    """Complaints, negative messages and low-rating comments grouped by topic, with trend and links."""
    return voice.report(session, f, retriever.embedder, retriever.encoders, labeller=_label)


@router.get("/topics")
def topics_report(_: Admin, session: DbSession, f: Filter, retriever: Retriever) -> dict[str, Any]:
    """Intents customers' messages had, answers per FAQ entry, and what the bot could not answer."""
    return topics.report(session, f, get_settings(), retriever.embedder, retriever.encoders)


@router.get("/at-risk", response_model=Page[dict[str, Any]])
def at_risk_report(
    _: Agent, session: DbSession, f: PeopleFilter, page: Annotated[PageParams, Depends(page_params)]
) -> dict[str, Any]:
    """Contacts at risk in the period (default the last 30 days), highest score first, with reasons."""
    return at_risk.listing(session, f, limit=page.limit, offset=page.offset)
