"""A figure's drill-down rows as CSV, each cell guarded against spreadsheet formula injection."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from knowledge_base.curation import guard_cell

COLUMNS = [
    "metric",
    "kind",
    "id",
    "started_at",
    "created_at",
    "channel",
    "language",
    "contact_id",
    "agent_id",
    "value",
]


def csv_text(metric: str, items: Iterable[dict[str, Any]]) -> str:
    """The header and one line per row (a leading ' before any cell a spreadsheet would run)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for item in items:
        row = {**item, "metric": metric}
        writer.writerow([guard_cell("" if row.get(c) is None else str(row.get(c))) for c in COLUMNS])
    return out.getvalue()
