"""The audit log as CSV, each cell guarded against spreadsheet formula injection."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator

from crm_bridge.audit.models import AuditEntry
from knowledge_base.curation import guard_cell

COLUMNS = [
    "id",
    "at",
    "actor_id",
    "actor_username",
    "actor_role",
    "action",
    "target_type",
    "target_id",
    "client_address",
    "request_id",
    "details",
]


def _cells(entry: AuditEntry) -> list[str]:
    values = [
        entry.id,
        entry.at.isoformat(),
        entry.actor_id,
        entry.actor_username,
        entry.actor_role,
        entry.action,
        entry.target_type,
        entry.target_id,
        entry.client_address,
        entry.request_id,
        json.dumps(entry.details, ensure_ascii=False, sort_keys=True),
    ]
    return [guard_cell("" if value is None else str(value)) for value in values]


def csv_lines(entries: Iterable[AuditEntry]) -> Iterator[str]:
    """The header, then one line per entry (a leading ' before any cell a spreadsheet would run)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for entry in entries:
        writer.writerow(_cells(entry))
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    yield out.getvalue()
