"""The conversation side of the summary (first response, resolution, FCR, bot, volume, sentiment), read
from the rollup in a handful of aggregate queries (docs/reports.md has the definitions)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, func, select, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from crm_bridge.reports import metrics
from crm_bridge.reports.facts_metrics import bot_resolved, contained, fcr_achieved
from crm_bridge.reports.filters import ReportFilter
from crm_bridge.reports.models import ConversationFacts as F
from crm_bridge.reports.scope import conditions, percentiles
from kefu_core.db import utcnow
from kefu_core.targets import ServiceTargets


def _n(cond: ColumnElement[bool]) -> Any:
    return func.sum(case((cond, 1), else_=0))


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def met(value: float | None, target: float | None, *, lower_is_better: bool = False) -> bool | None:
    """Whether `value` meets `target`; None when either is missing."""
    if value is None or target is None:
        return None
    return value <= target if lower_is_better else value >= target


def _r(value: float | None, digits: int = 4) -> float | None:
    return round(value, digits) if value is not None else None


def _totals(session: Session, conds: list[ColumnElement[bool]]) -> Any:
    now = utcnow()
    return session.execute(
        select(
            func.count(),
            func.avg(F.first_response_s),
            func.avg(F.first_response_bh_s),
            func.count(F.first_response_s),
            func.avg(F.first_resolution_s),
            func.avg(F.full_resolution_s),
            func.count(F.first_resolved_at),
            func.count(F.full_resolution_s),
            _n(and_(F.first_resolved_at.is_not(None), F.reopens > 0)),
            _n(and_(F.first_resolved_at.is_not(None), fcr_achieved())),
            _n(bot_resolved(now)),
            _n(F.handoff_at.is_not(None)),
            _n(contained()),
            func.coalesce(func.sum(F.kb_decisions), 0),
            func.coalesce(func.sum(F.kb_none), 0),
            func.coalesce(func.sum(F.inbound_messages), 0),
            func.coalesce(func.sum(F.positive), 0),
            func.coalesce(func.sum(F.neutral), 0),
            func.coalesce(func.sum(F.negative), 0),
        ).where(*conds)
    ).one()


def _grouped(session: Session, key: Any, conds: list[ColumnElement[bool]]) -> dict[Any, int]:
    return {k: int(n) for k, n in session.execute(select(key, func.count()).where(*conds).group_by(key))}


def compute(session: Session, flt: ReportFilter, targets: ServiceTargets) -> dict[str, Any]:
    """first_response, resolution, fcr, bot and volume for the summary (zeros and nulls when empty)."""
    conds = conditions(session, flt)
    t = _totals(session, conds)
    total = int(t[0])
    fr_median, fr_p90, fb_median, fb_p90, res1_median, res_median, res_p90 = _percentiles(
        session, conds, total
    )
    fr_mean = float(t[1]) if t[1] is not None else None
    fb_mean = float(t[2]) if t[2] is not None else None
    resolved = int(t[6] or 0)
    reopened = int(t[8] or 0)
    fcr_rate = _ratio(int(t[9] or 0), resolved)
    bot_rate = _ratio(int(t[10] or 0), total)
    groups = _groups(session, conds)
    reasons, hours = groups["reason"], groups["hour"]
    labelled = int(t[16]) + int(t[17]) + int(t[18])
    return {
        "first_response": {
            "median_s": _r(fr_median, 1),
            "p90_s": _r(fr_p90, 1),
            "mean_s": _r(fr_mean, 1),
            "median_business_s": _r(fb_median, 1),
            "p90_business_s": _r(fb_p90, 1),
            "mean_business_s": _r(fb_mean, 1),
            "count": int(t[3] or 0),
            "target_s": targets.first_response_s,
            # The seeds' standard is an average first response "online": measured in business hours.
            "met": met(fb_mean, targets.first_response_s, lower_is_better=True),
        },
        "resolution": {
            "first_median_s": _r(res1_median, 1),
            "first_mean_s": _r(float(t[4]) if t[4] is not None else None, 1),
            "median_s": _r(res_median, 1),
            "p90_s": _r(res_p90, 1),
            "mean_s": _r(float(t[5]) if t[5] is not None else None, 1),
            "resolved": resolved,
            "currently_reopened": resolved - int(t[7] or 0),
            "reopened": reopened,
            "reopen_rate": _r(_ratio(reopened, resolved)),
            "target_s": targets.resolution_s,
            "met": met(res_median, targets.resolution_s, lower_is_better=True),
        },
        "fcr": {
            "rate": _r(fcr_rate),
            "resolved": resolved,
            "first_contact": int(t[9] or 0),
            "target": targets.fcr,
            "met": met(fcr_rate, targets.fcr),
        },
        "bot": {
            "resolution_rate": _r(bot_rate),
            "handoff_rate": _r(_ratio(int(t[11] or 0), total)),
            "unanswered_rate": _r(_ratio(int(t[14]), int(t[13]))),
            "containment_rate": _r(_ratio(int(t[12] or 0), total)),
            "conversations": total,
            "bot_resolved": int(t[10] or 0),
            "handoffs": int(t[11] or 0),
            "handoffs_by_reason": {
                str(reason): {"count": n, "rate": _r(_ratio(n, total))}
                for reason, n in sorted(reasons.items())
            },
            "kb_decisions": int(t[13]),
            "kb_none": int(t[14]),
            "target": targets.bot_resolution,
            "met": met(bot_rate, targets.bot_resolution),
        },
        "volume": {
            "conversations": total,
            "inbound_messages": int(t[15]),
            "by_channel": dict(sorted(groups["channel"].items())),
            "by_language": {str(k): v for k, v in sorted(groups["language"].items(), key=str)},
            "by_hour": [hours.get(h, 0) for h in range(24)],
            "sentiment": {
                "positive": int(t[16]),
                "neutral": int(t[17]),
                "negative": int(t[18]),
                "negative_share": _r(_ratio(int(t[18]), labelled)),
            },
        },
    }


def _percentiles(session: Session, conds: list[ColumnElement[bool]], total: int) -> list[float | None]:
    if total == 0:
        return [None] * 7
    wanted = [
        (F.first_response_s, 0.5), (F.first_response_s, 0.9), (F.first_response_bh_s, 0.5),
        (F.first_response_bh_s, 0.9), (F.first_resolution_s, 0.5), (F.full_resolution_s, 0.5),
        (F.full_resolution_s, 0.9),
    ]  # fmt: skip
    if session.get_bind().dialect.name == "postgresql":  # one scan for all seven
        row = session.execute(
            select(*[func.percentile_cont(p).within_group(c) for c, p in wanted]).where(*conds)
        ).one()
        return [float(v) if v is not None else None for v in row]
    return [percentiles(session, c, conds, (p,))[0] for c, p in wanted]


def _groups(session: Session, conds: list[ColumnElement[bool]]) -> dict[str, dict[Any, int]]:
    """Counts by channel, language, handoff reason and local hour; one scan on PostgreSQL (grouping sets)."""
    hour = metrics.hour_of_day(session, F.started_at)
    keys = {"channel": F.channel, "language": F.language, "reason": F.handoff_reason, "hour": hour}
    out: dict[str, dict[Any, int]] = {name: {} for name in keys}
    if session.get_bind().dialect.name == "postgresql":
        sets = func.grouping_sets(*[tuple_(k) for k in keys.values()])
        flags = [func.grouping(k) for k in keys.values()]
        stmt = select(*keys.values(), *flags, func.count()).where(*conds).group_by(sets)
        for row in session.execute(stmt):
            which = next(i for i in range(4) if row[4 + i] == 0)
            out[list(keys)[which]][row[which]] = int(row[-1])
    else:
        for name, key in keys.items():
            out[name] = _grouped(session, key, conds)
    out["reason"].pop(None, None)
    return out
