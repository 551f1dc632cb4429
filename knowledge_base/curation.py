"""Curating entries (no HTTP): create, update, delete with revisions; all-or-nothing import; export."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, selectinload

from kefu_core.errors import Conflict, Invalid, NotFound
from knowledge_base.models import FaqEntry, FaqRevision, FaqStatus, FaqVariant, new_faq_id
from knowledge_base.schemas import FaqImportRow

COLUMNS = ("id", "question", "variants", "answer", "language", "category", "tags", "status")


def to_dict(entry: FaqEntry) -> dict[str, Any]:
    """An entry as plain data (API, export and revision snapshots)."""
    return {
        "id": entry.id,
        "question": entry.question,
        "variants": [v.text for v in entry.variants],
        "answer": entry.answer,
        "language": entry.language,
        "category": entry.category,
        "tags": list(entry.tags or []),
        "status": entry.status.value,
        "version": entry.version,
        "created_at": entry.created_at,
        "updated_at": entry.updated_at,
    }


def _revision(session: Session, entry: FaqEntry, action: str, author_id: int | None) -> None:
    snapshot = {k: v for k, v in to_dict(entry).items() if k not in ("created_at", "updated_at")}
    session.add(
        FaqRevision(
            faq_id=entry.id, version=entry.version, action=action, author_id=author_id, snapshot=snapshot
        )
    )


def get_or_raise(session: Session, faq_id: str) -> FaqEntry:
    """The entry with its variants, or NotFound."""
    entry = session.get(FaqEntry, faq_id, options=[selectinload(FaqEntry.variants)])
    if entry is None:
        raise NotFound(f"FAQ entry {faq_id} not found")
    return entry


def list_query(
    *, status: FaqStatus | None, language: str | None, category: str | None, q: str | None
) -> Select[Any]:
    """Entries by status, language, category and text in the question or answer."""
    stmt = select(FaqEntry).options(selectinload(FaqEntry.variants)).order_by(FaqEntry.id)
    if status:
        stmt = stmt.where(FaqEntry.status == status)
    if language:
        stmt = stmt.where(FaqEntry.language == language)
    if category:
        stmt = stmt.where(FaqEntry.category == category)
    if q and q.strip():
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(FaqEntry.question.ilike(like), FaqEntry.answer.ilike(like)))
    return stmt


def _apply(entry: FaqEntry, data: dict[str, Any]) -> None:
    for key in ("question", "answer", "language", "category", "tags", "status"):
        if key in data:
            setattr(entry, key, FaqStatus(data[key]) if key == "status" else data[key])
    if "variants" in data:
        entry.variants = [FaqVariant(text=t) for t in data["variants"]]


def create(
    session: Session, *, data: dict[str, Any], author_id: int | None, action: str = "create"
) -> FaqEntry:
    """A new entry; its id must be new."""
    faq_id = data.get("id") or new_faq_id()
    if session.get(FaqEntry, faq_id) is not None:
        raise Conflict(f"FAQ entry {faq_id} already exists")
    entry = FaqEntry(id=faq_id, version=1, tags=[])
    entry.variants = []
    _apply(entry, data)
    session.add(entry)
    session.flush()
    _revision(session, entry, action, author_id)
    return entry


def update(
    session: Session,
    *,
    entry: FaqEntry,
    changes: dict[str, Any],
    author_id: int | None,
    action: str = "update",
) -> FaqEntry:
    """Apply changes as a new version (with a revision)."""
    if not changes:
        return entry
    _apply(entry, changes)
    entry.version += 1
    session.flush()
    _revision(session, entry, action, author_id)
    return entry


def delete(session: Session, *, entry: FaqEntry, author_id: int | None) -> None:
    """Remove an entry; its history stays in the revisions."""
    entry.version += 1
    _revision(session, entry, "delete", author_id)
    session.delete(entry)
    session.flush()


def parse_import(content: bytes, fmt: str) -> list[dict[str, Any]]:
    """Validate every row of a JSONL or CSV import; Invalid naming each bad row when any is bad."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid("the file is not UTF-8 text") from exc
    raw_rows = list(_jsonl_rows(text) if fmt == "jsonl" else _csv_rows(text))
    if not raw_rows:
        raise Invalid("the file holds no entries")
    rows: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for line, raw in raw_rows:
        if isinstance(raw, str):
            errors.append({"row": line, "errors": [raw]})
            continue
        try:
            row = FaqImportRow.model_validate(raw).model_dump()
        except ValidationError as exc:
            msgs = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
            errors.append({"row": line, "errors": msgs})
            continue
        if row["id"] and row["id"] in seen:
            errors.append({"row": line, "errors": [f"id {row['id']} repeats row {seen[row['id']]}"]})
            continue
        if row["id"]:
            seen[row["id"]] = line
        rows.append(row)
    if errors:
        raise Invalid(f"{len(errors)} bad row(s); nothing was imported", details=errors)
    return rows


def _jsonl_rows(text: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, f"not valid JSON: {exc.msg} (column {exc.colno})"
            continue
        yield number, value if isinstance(value, dict) else "each line must be a JSON object"


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _needs_guard(value: str) -> bool:
    return value.startswith(_FORMULA_START) or (value.startswith("'") and _needs_guard(value[1:]))


def guard_cell(value: str) -> str:
    """A CSV cell a spreadsheet shows as text: a leading ' before a formula start (undone by unguard_cell)."""
    return "'" + value if _needs_guard(value) else value


def unguard_cell(value: str) -> str:
    """The text guard_cell was given (a cell without its guard is returned as it is)."""
    return value[1:] if value.startswith("'") and _needs_guard(value[1:]) else value


def _csv_rows(text: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    reader = csv.DictReader(io.StringIO(text))
    missing = {"question", "answer", "language"} - set(reader.fieldnames or [])
    if missing:
        yield 1, f"missing column(s): {', '.join(sorted(missing))}"
        return
    for number, record in enumerate(reader, start=2):
        row: dict[str, Any] = {k: unguard_cell((v or "").strip()) for k, v in record.items() if k in COLUMNS}
        row["variants"] = [v for v in row.get("variants", "").split("|") if v.strip()]
        row["tags"] = [t for t in row.get("tags", "").split("|") if t.strip()]
        for key in ("id", "category", "status"):
            if not row.get(key):
                row.pop(key, None)
        extra = set(record) - set(COLUMNS)
        yield number, (f"unknown column(s): {', '.join(sorted(extra))}" if extra else row)


def import_rows(
    session: Session, rows: Iterable[dict[str, Any]], *, author_id: int | None
) -> tuple[int, int]:
    """Create new ids and update existing ones, in the caller's transaction; -> (created, updated)."""
    created = updated = 0
    for row in rows:
        existing = session.get(FaqEntry, row["id"]) if row.get("id") else None
        if existing is None:
            create(session, data=row, author_id=author_id, action="import")
            created += 1
        else:
            changes = {k: v for k, v in row.items() if k != "id"}
            update(session, entry=existing, changes=changes, author_id=author_id, action="import")
            updated += 1
    return created, updated


def export(session: Session, fmt: str) -> str:
    """Every entry as JSONL or CSV (variants and tags joined by |, formula-like cells guarded), in the
    import format."""
    entries = session.scalars(select(FaqEntry).options(selectinload(FaqEntry.variants)).order_by(FaqEntry.id))
    rows = [{k: v for k, v in to_dict(e).items() if k in COLUMNS} for e in entries]
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    for r in rows:
        cells = {**r, "variants": "|".join(r["variants"]), "tags": "|".join(r["tags"])}
        writer.writerow({k: guard_cell(v) if isinstance(v, str) else v for k, v in cells.items()})
    return out.getvalue()
