"""`kefu outbox list` and `kefu outbox replay`: see and retry writes to the external CRM."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from crm_bridge.audit import service as audit
from crm_bridge.migrate import upgrade
from crm_bridge.outbox import service
from crm_bridge.outbox.models import OutboxStatus
from kefu_core.db import make_engine
from kefu_core.settings import get_settings


def _session() -> tuple[Session, Engine]:
    url = get_settings().database_url
    upgrade(url)  # like `kefu users create`: the command works on a database that was never migrated
    engine = make_engine(url)
    return Session(engine), engine


def outbox_list(args: argparse.Namespace) -> int:
    """Print outbox items as a table (oldest first)."""
    session, engine = _session()
    try:
        items = service.list_items(session, args.status, connector=args.connector, limit=args.limit)
        table = Table(title=f"outbox items ({args.status or 'all'})")
        for column in ("id", "operation", "status", "attempts", "next attempt", "last error"):
            table.add_column(column, overflow="fold")
        for item in items:
            pending = item.status is OutboxStatus.pending
            table.add_row(
                str(item.id),
                item.operation,
                item.status.value,
                str(item.attempts),
                item.next_attempt_at.strftime("%Y-%m-%d %H:%M:%S UTC") if pending else "-",
                (item.last_error or "")[:120],
            )
        Console().print(table if items else "no outbox items")
    finally:
        session.close()
        engine.dispose()
    return 0


def outbox_replay(args: argparse.Namespace) -> int:
    """Reset the given items, or every dead one, to be delivered now."""
    if not args.ids and not args.all_dead:
        print("give item ids or --all-dead", file=sys.stderr)
        return 2
    session, engine = _session()
    try:
        count = service.replay(session, None if args.all_dead else args.ids, connector=args.connector)
        audit.record(
            session,
            None,
            audit.cli_operator(),
            action="outbox.replay",
            target_type="outbox_item",
            details={
                "count": count,
                "connector": args.connector,
                "all_dead": bool(args.all_dead),
                "via": "cli",
            },
        )
        session.commit()
    finally:
        session.close()
        engine.dispose()
    print(f"{count} item(s) reset to pending")
    return 0


def add_outbox_commands(subparsers: Any) -> None:
    """Register `outbox list` and `outbox replay` on the `kefu` subcommand parsers."""
    outbox = subparsers.add_parser("outbox", help="writes waiting for (or stuck on) the external CRM")
    sub = outbox.add_subparsers(dest="outbox_command", required=True)
    listing = sub.add_parser("list", help="show outbox items")
    listing.add_argument("--status", choices=[s.value for s in OutboxStatus])
    listing.add_argument("--connector", help="only this connector, e.g. zoho")
    listing.add_argument("--limit", type=int, default=200)
    listing.set_defaults(func=outbox_list)
    again = sub.add_parser("replay", help="retry stuck items now")
    again.add_argument("ids", nargs="*", type=int, help="item ids (delivered items are skipped)")
    again.add_argument("--all-dead", action="store_true", help="every dead item")
    again.add_argument("--connector", help="only this connector, e.g. zoho")
    again.set_defaults(func=outbox_replay)
