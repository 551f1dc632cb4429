"""`kefu reports summary` (the KPIs of a period against the targets) and `kefu reports rebuild` (the
rollup recomputed from the base tables: after an upgrade, a restore, or a change of KEFU_BUSINESS_HOURS)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kefu_core.errors import DomainError


def _session() -> tuple[Session, Engine]:
    from crm_bridge.migrate import upgrade
    from kefu_core.db import make_engine
    from kefu_core.settings import get_settings

    url = get_settings().database_url
    upgrade(url)
    engine = make_engine(url)
    return Session(engine), engine


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit == "%":
        return f"{value * 100:.1f} %"
    if unit == "s":
        return f"{value:.0f} s"
    return str(value)


def _met(value: bool | None) -> str:
    return {True: "met", False: "MISSED", None: ""}[value]


def _lines(out: dict[str, Any]) -> list[str]:
    k, v = out["kpis"], out["volume"]
    fr, res, fcr, csat, bot = k["first_response"], k["resolution"], k["fcr"], k["csat"], k["bot"]
    sla, avail = k["sla"], k["availability"]
    p = out["period"]
    return [
        f"period            {p['from']} .. {p['to']} ({p['timezone']})",
        f"conversations     {v['conversations']} ({v['inbound_messages']} customer messages)",
        f"first response    mean {_fmt(fr['mean_s'], 's')}, median {_fmt(fr['median_s'], 's')}, "
        f"p90 {_fmt(fr['p90_s'], 's')}; business hours mean {_fmt(fr['mean_business_s'], 's')} "
        f"(target {_fmt(fr['target_s'], 's')}) {_met(fr['met'])}",
        f"resolution        median {_fmt(res['median_s'], 's')}, first {_fmt(res['first_median_s'], 's')}, "
        f"reopened {_fmt(res['reopen_rate'], '%')}",
        f"first contact     {_fmt(fcr['rate'], '%')} (target {_fmt(fcr['target'], '%')}) {_met(fcr['met'])}",
        f"satisfaction      {_fmt(csat.get('score_100'))}/100, {_fmt(csat.get('percent_satisfied'), '%')} "
        f"satisfied (target {_fmt(csat.get('target'))}) {_met(csat.get('met'))}",
        f"bot               resolved {_fmt(bot['resolution_rate'], '%')}, "
        f"handoff {_fmt(bot['handoff_rate'], '%')}, unanswered {_fmt(bot['unanswered_rate'], '%')}",
        f"SLA               first response {_fmt(sla.get('first_response_met'), '%')}, "
        f"resolution {_fmt(sla.get('resolution_met'), '%')}",
        f"availability      {_fmt(avail.get('rate'), '%')} (target {_fmt(avail.get('target'), '%')}) "
        f"{_met(avail.get('met'))}",
    ]


def reports_summary(args: argparse.Namespace) -> int:
    """Print the summary of a period (a table, or the API's JSON with --json)."""
    from crm_bridge.reports import pending, service
    from crm_bridge.reports.filters import build_filter

    session, engine = _session()
    try:
        flt = build_filter(
            start=args.start, end=args.end, channel=args.channel, language=args.language,
            agent_id=args.agent_id, tier=args.tier, tag=args.tag,
        )  # fmt: skip
        if pending.apply(session):  # conversations changed since the minute's job
            session.commit()
        out = service.summary(session, flt)
    except DomainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        session.close()
        engine.dispose()
    print(json.dumps(out, indent=2, ensure_ascii=False) if args.json else "\n".join(_lines(out)))
    return 0


def reports_rebuild(args: argparse.Namespace) -> int:
    """Recompute conversation_facts for every conversation."""
    from crm_bridge.reports import facts

    session, engine = _session()
    try:
        began = time.perf_counter()
        count = facts.rebuild(session)
        session.commit()
    finally:
        session.close()
        engine.dispose()
    print(f"rebuilt the report rollup of {count} conversations in {time.perf_counter() - began:.1f} s")
    return 0


def add_reports_commands(sub: Any) -> None:
    """Register `kefu reports summary` and `kefu reports rebuild`."""
    reports = sub.add_parser("reports", help="service reports against the targets (docs/reports.md)")
    reports_sub = reports.add_subparsers(dest="reports_command", required=True)
    summary = reports_sub.add_parser("summary", help="the KPIs of a period against KEFU_TARGETS")
    summary.add_argument("--from", dest="start", help="YYYY-MM-DD or ISO date-time (default: 30 days ago)")
    summary.add_argument("--to", dest="end", help="YYYY-MM-DD (inclusive) or ISO date-time (default: now)")
    for name in ("channel", "language", "tier", "tag"):
        summary.add_argument(f"--{name}")
    summary.add_argument("--agent-id", type=int)
    summary.add_argument("--json", action="store_true", help="the same JSON as GET /api/v1/reports/summary")
    summary.set_defaults(func=reports_summary)
    rebuild = reports_sub.add_parser("rebuild", help="recompute the report rollup from the base tables")
    rebuild.set_defaults(func=reports_rebuild)
