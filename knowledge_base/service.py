"""FAQ entry database work (no HTTP)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from knowledge_base.models import FaqEntry, FaqStatus

SEED_FILE = Path(__file__).resolve().parent / "seed" / "demo_faqs.jsonl"


def count_published(session: Session) -> int:
    """How many entries the bot may answer from."""
    stmt = select(func.count()).select_from(FaqEntry).where(FaqEntry.status == FaqStatus.published)
    return int(session.scalar(stmt) or 0)


def list_published(session: Session) -> list[FaqEntry]:
    """Every published entry with its variants (what the index is built from)."""
    stmt = (
        select(FaqEntry)
        .where(FaqEntry.status == FaqStatus.published)
        .options(selectinload(FaqEntry.variants))
        .order_by(FaqEntry.id)
    )
    return list(session.scalars(stmt))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSONL file in the import format."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
