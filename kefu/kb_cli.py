"""`kefu kb …`: import and export the knowledge base from files; evaluate retrieval."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

console = Console(stderr=True)


def _format(path: Path, given: str | None) -> str | None:
    if given:
        return given
    suffix = path.suffix.lower()
    return "csv" if suffix == ".csv" else "jsonl" if suffix in (".jsonl", ".json", ".ndjson") else None


def _import(args: argparse.Namespace) -> int:
    from sqlalchemy.orm import Session

    from crm_bridge.config import get_settings
    from crm_bridge.db import make_engine
    from crm_bridge.errors import DomainError
    from crm_bridge.migrate import upgrade
    from knowledge_base import curation

    path = Path(args.file)
    fmt = _format(path, args.format)
    if fmt is None:
        console.print(f"[red]cannot tell the format of {path.name}[/]: use --format jsonl|csv")
        return 2
    if not path.is_file():
        console.print(f"[red]no such file:[/] {path}")
        return 2
    try:
        rows = curation.parse_import(path.read_bytes(), fmt)
    except DomainError as exc:
        console.print(f"[red]{exc.message}[/]")
        for bad in exc.details or []:
            console.print(f"  row {bad['row']}: " + "; ".join(bad["errors"]))
        return 1
    url = get_settings().database_url
    upgrade(url)
    engine = make_engine(url)
    created = updated = 0
    try:
        with Session(engine) as session, Progress(console=console) as progress:
            task = progress.add_task(f"importing {path.name}", total=len(rows))
            for row in rows:  # one transaction for all rows: all or nothing
                c, u = curation.import_rows(session, [row], author_id=None)
                created, updated = created + c, updated + u
                progress.advance(task)
            session.commit()
    except DomainError as exc:
        console.print(f"[red]{exc.message}[/] (nothing was imported)")
        return 1
    finally:
        engine.dispose()
    print(
        f"imported {created + updated} entries ({created} new, {updated} updated); "
        "running servers pick them up within seconds"
    )
    return 0


def _export(args: argparse.Namespace) -> int:
    from sqlalchemy.orm import Session

    from crm_bridge.config import get_settings
    from crm_bridge.db import make_engine
    from knowledge_base import curation

    path = Path(args.file)
    fmt = _format(path, args.format)
    if fmt is None:
        console.print(f"[red]cannot tell the format of {path.name}[/]: use --format jsonl|csv")
        return 2
    engine = make_engine(get_settings().database_url)
    try:
        with Session(engine) as session, console.status("exporting"):
            text = curation.export(session, fmt)
    finally:
        engine.dispose()
    path.write_text(text, encoding="utf-8")
    lines = text.count("\n") - (1 if fmt == "csv" else 0)
    print(f"exported {lines} entries to {path}")
    return 0


def add_kb_commands(sub: Any) -> None:
    """Register `kefu kb import|export|eval|bench`."""
    kb = sub.add_parser("kb", help="the knowledge base")
    kb_sub = kb.add_subparsers(dest="kb_command", required=True)
    imp = kb_sub.add_parser("import", help="import entries from JSONL or CSV (all rows or none)")
    imp.add_argument("file")
    imp.add_argument("--format", choices=["jsonl", "csv"])
    imp.set_defaults(func=_import)
    exp = kb_sub.add_parser("export", help="export every entry to JSONL or CSV")
    exp.add_argument("file")
    exp.add_argument("--format", choices=["jsonl", "csv"])
    exp.set_defaults(func=_export)
    from kefu.kb_eval_cli import add_kb_eval_commands

    add_kb_eval_commands(kb_sub)
