"""The conversation KPIs as registered metrics over the rollup (definitions: docs/reports.md).

Each is a population (which conversations count), a per-conversation value and how values combine
(mean, median, a rate as the mean of 0/1, a count, or a ratio of sums)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Float, and_, case, cast, func, literal, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from crm_bridge.reports import metrics
from crm_bridge.reports.filters import ReportFilter
from crm_bridge.reports.models import ConversationFacts as F
from crm_bridge.reports.scope import conditions, percentiles
from kefu_core.db import utcnow
from kefu_core.settings import get_settings

Agg = Literal["mean", "median", "p90", "count", "ratio"]
BOT_RECONTACT_S = 24 * 3600  # a bot conversation is resolved when the contact does not come back within a day


def _flag(cond: ColumnElement[bool]) -> ColumnElement[Any]:
    return case((cond, 1.0), else_=0.0)


def fcr_achieved() -> ColumnElement[bool]:
    """Resolved with at most one agent reply, never reopened, no new conversation within the FCR window."""
    window = get_settings().fcr_window_days * 86400
    return and_(F.agent_replies <= 1, F.reopens == 0, or_(F.recontact_s.is_(None), F.recontact_s > window))


def bot_resolved(now: datetime) -> ColumnElement[bool]:
    """No handoff and no agent reply, ended (resolved, or quiet for 24 h), and no recontact within 24 h."""
    quiet = F.last_message_at <= now - timedelta(seconds=BOT_RECONTACT_S)
    ended = or_(
        F.resolved_at.is_not(None),
        quiet,
        and_(F.last_message_at.is_(None), F.started_at <= now - timedelta(seconds=BOT_RECONTACT_S)),
    )
    return and_(
        F.handoff_at.is_(None),
        F.agent_replies == 0,
        ended,
        or_(F.recontact_s.is_(None), F.recontact_s > BOT_RECONTACT_S),
    )


def contained() -> ColumnElement[bool]:
    """Never reached a human: no handoff and no agent reply."""
    return and_(F.handoff_at.is_(None), F.agent_replies == 0)


@dataclass(frozen=True)
class Spec:
    """How one conversation metric is computed from the rollup."""

    name: str
    label: str
    unit: Literal["seconds", "ratio", "count", "score"]
    agg: Agg
    value: Callable[[datetime], Any]  # per conversation (now -> expression)
    population: Callable[[], ColumnElement[bool]] = lambda: true()
    denominator: Callable[[], Any] | None = None  # agg "ratio": sum(value) / sum(this)


def _agg_value(session: Session, spec: Spec, conds: list[ColumnElement[bool]]) -> float | None:
    value = spec.value(utcnow())
    if spec.agg in ("median", "p90"):
        return percentiles(session, value, conds, (0.5 if spec.agg == "median" else 0.9,))[0]
    if spec.agg == "count":
        return float(session.scalar(select(func.count()).select_from(F).where(*conds)) or 0)
    if spec.agg == "ratio":
        assert spec.denominator is not None
        num, den = session.execute(select(func.sum(value), func.sum(spec.denominator())).where(*conds)).one()
        return float(num or 0) / float(den) if den else None
    mean = session.scalar(select(func.avg(cast(value, Float))).where(*conds))
    return float(mean) if mean is not None else None


def _conds(session: Session, spec: Spec, flt: ReportFilter) -> list[ColumnElement[bool]]:
    return [*conditions(session, flt), spec.population()]


def _median_by_bucket(rows: list[tuple[Any, Any]], p: float) -> dict[datetime, float | None]:
    grouped: dict[Any, list[float]] = {}
    for key, v in rows:
        grouped.setdefault(key, []).append(float(v))
    out: dict[datetime, float | None] = {}
    for key, values in grouped.items():
        values.sort()
        pos = p * (len(values) - 1)
        lo = int(pos)
        v = values[lo] + ((values[lo + 1] - values[lo]) * (pos - lo) if lo + 1 < len(values) else 0.0)
        out[metrics.start_of(key)] = v
    return out


def _series(
    session: Session, spec: Spec, flt: ReportFilter, interval: str
) -> list[tuple[datetime, float | None]]:
    key = metrics.bucket(session, F.started_at, interval)
    conds = _conds(session, spec, flt)
    value = spec.value(utcnow())
    rows: dict[datetime, float | None]
    if spec.agg in ("median", "p90"):
        p = 0.5 if spec.agg == "median" else 0.9
        conds = [*conds, value.is_not(None)]
        if session.get_bind().dialect.name == "postgresql":
            stmt = select(key, func.percentile_cont(p).within_group(value)).where(*conds).group_by(key)
            rows = {metrics.start_of(k): float(v) for k, v in session.execute(stmt)}
        else:  # SQLite has no percentile_cont: buckets from SQL, the percentile per bucket here
            rows = _median_by_bucket(list(session.execute(select(key, value).where(*conds))), p)
    elif spec.agg == "count":
        stmt = select(key, func.count()).select_from(F).where(*conds).group_by(key)
        rows = {metrics.start_of(k): float(v) for k, v in session.execute(stmt)}
    elif spec.agg == "ratio":
        assert spec.denominator is not None
        sums: Any = select(key, func.sum(value), func.sum(spec.denominator())).where(*conds).group_by(key)
        rows = {
            metrics.start_of(k): (float(n or 0) / float(d) if d else None)
            for k, n, d in session.execute(sums)
        }
    else:
        stmt = select(key, func.avg(cast(value, Float))).where(*conds).group_by(key)
        rows = {metrics.start_of(k): (float(v) if v is not None else None) for k, v in session.execute(stmt)}
    if spec.agg == "count":
        return [(t, v if v is not None else 0.0) for t, v in metrics.fill(flt, interval, rows)]
    return metrics.fill(flt, interval, rows)


def drilldown_rows(
    session: Session, conds: list[ColumnElement[bool]], value: ColumnElement[Any], offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """The conversations meeting `conds`, newest first, each with its own value of the figure."""
    total = int(session.scalar(select(func.count()).select_from(F).where(*conds)) or 0)
    stmt = (
        select(F.conversation_id, F.started_at, F.channel, F.language, F.contact_id, F.assignee_id, value)
        .where(*conds)
        .order_by(F.started_at.desc(), F.conversation_id)
        .offset(offset)
        .limit(limit)
    )
    items = [
        {
            "kind": "conversation",
            "id": cid,
            "started_at": started.isoformat(),
            "channel": channel,
            "language": language,
            "contact_id": contact_id,
            "agent_id": assignee,
            "value": float(v) if v is not None else None,
        }
        for cid, started, channel, language, contact_id, assignee, v in session.execute(stmt)
    ]
    return items, total


def _drilldown(
    session: Session, spec: Spec, flt: ReportFilter, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    conds = _conds(session, spec, flt)
    value = spec.value(utcnow())
    if spec.agg in ("median", "p90", "mean") and spec.unit == "seconds":
        conds.append(value.is_not(None))
    if spec.agg == "ratio":
        assert spec.denominator is not None
        conds.append(spec.denominator() > 0)
        value = cast(value, Float) / spec.denominator()
    return drilldown_rows(session, conds, value, offset, limit)


def register(spec: Spec) -> None:
    """Register a conversation metric described by `spec`."""
    metrics.register(
        metrics.Metric(
            name=spec.name,
            label=spec.label,
            unit=spec.unit,
            kind="conversation",
            value=lambda s, f: _agg_value(s, spec, _conds(s, spec, f)),
            series=lambda s, f, i: _series(s, spec, f, i),
            drilldown=lambda s, f, o, n: _drilldown(s, spec, f, o, n),
        )
    )


def _column(column: Any) -> Callable[[datetime], Any]:
    return lambda now: column


def _rate(cond: Callable[[datetime], ColumnElement[bool]]) -> Callable[[datetime], Any]:
    return lambda now: _flag(cond(now))


def _labelled() -> Any:
    return F.positive + F.neutral + F.negative


def _resolved() -> ColumnElement[bool]:
    return F.first_resolved_at.is_not(None)


SPECS = [
    Spec("conversations", "Conversations", "count", "count", lambda now: literal(1)),
    Spec("first_response_mean", "First response, mean", "seconds", "mean", _column(F.first_response_s)),
    Spec("first_response_median", "First response, median", "seconds", "median", _column(F.first_response_s)),
    Spec("first_response_p90", "First response, p90", "seconds", "p90", _column(F.first_response_s)),
    Spec(
        "first_response_business_mean",
        "First response in business hours, mean",
        "seconds",
        "mean",
        _column(F.first_response_bh_s),
    ),
    Spec(
        "first_response_business_median",
        "First response in business hours, median",
        "seconds",
        "median",
        _column(F.first_response_bh_s),
    ),
    Spec(
        "first_resolution_median",
        "First resolution, median",
        "seconds",
        "median",
        _column(F.first_resolution_s),
    ),
    Spec("resolution_median", "Full resolution, median", "seconds", "median", _column(F.full_resolution_s)),
    Spec("resolution_mean", "Full resolution, mean", "seconds", "mean", _column(F.full_resolution_s)),
    Spec(
        "fcr_rate", "First-contact resolution", "ratio", "mean", _rate(lambda now: fcr_achieved()), _resolved
    ),
    Spec("bot_resolution_rate", "Bot resolution", "ratio", "mean", _rate(bot_resolved)),
    Spec("handoff_rate", "Handoff", "ratio", "mean", _rate(lambda now: F.handoff_at.is_not(None))),
    Spec("containment_rate", "Containment", "ratio", "mean", _rate(lambda now: contained())),
    Spec(
        "unanswered_rate",
        "Unanswered (knowledge base said none)",
        "ratio",
        "ratio",
        _column(F.kb_none),
        lambda: F.kb_decisions > 0,
        lambda: F.kb_decisions,
    ),
    Spec("reopen_rate", "Reopened", "ratio", "mean", _rate(lambda now: F.reopens > 0), _resolved),
    Spec(
        "negative_sentiment_share",
        "Negative customer messages",
        "ratio",
        "ratio",
        _column(F.negative),
        lambda: _labelled() > 0,
        _labelled,
    ),
    Spec(
        "inbound_messages",
        "Customer messages",
        "count",
        "ratio",
        _column(F.inbound_messages),
        denominator=lambda: literal(1),
    ),
]

for _spec in SPECS:
    register(_spec)
