"""Every encrypted column of the schema (kefu_core.crypto.EncryptedString): re-encrypt its values with the
newest key of KEFU_ENCRYPTION_KEY (`kefu secrets rotate`) and count which key opens them (`kefu secrets
check`). Works on the stored tokens themselves; no plaintext leaves this module."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy import Engine

from crm_bridge.models_registry import Base
from kefu_core.crypto import EncryptedString, SecretUnreadable, encrypted_by_first_key, rotate


@dataclass
class ColumnReport:
    """What one column holds: tokens under the newest key, under an older one (re-encrypted by a rotation:
    `rotated`), and unreadable ones."""

    column: str  # table.column
    current: int = 0
    older: int = 0
    rotated: int = 0
    unreadable: list[str] = field(default_factory=list)  # primary keys of rows no listed key opens


def encrypted_columns() -> list[tuple[sa.Table, sa.Column[str]]]:
    """(table, column) for every EncryptedString column of the models (single-column primary keys)."""
    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, EncryptedString):
                if len(table.primary_key.columns) != 1:
                    raise RuntimeError(f"{table.name}: encrypted columns need a one-column primary key")
                found.append((table, column))
    return found


def _raw(table: sa.Table, column: sa.Column[str]) -> tuple[sa.TableClause, sa.ColumnClause[str]]:
    """A plain view of the table: the column as stored (the token), not decrypted by its type."""
    pk = next(iter(table.primary_key.columns))
    raw = sa.table(table.name, sa.column(pk.name), sa.column(column.name, sa.String()))
    return raw, raw.c[column.name]


def survey(engine: Engine, *, rewrite: bool) -> list[ColumnReport]:
    """Per column, how many tokens the newest key opens; with `rewrite`, re-encrypt the others with it."""
    reports = []
    for table, column in encrypted_columns():
        raw, value = _raw(table, column)
        pk = next(iter(raw.columns))
        report = ColumnReport(column=f"{table.name}.{column.name}")
        with engine.begin() as conn:
            rows = conn.execute(sa.select(pk, value).where(value.is_not(None))).all()
            for row_id, token in rows:
                if encrypted_by_first_key(token):
                    report.current += 1
                    continue
                try:
                    fresh = rotate(token, what=report.column)
                except SecretUnreadable:
                    report.unreadable.append(str(row_id))
                    continue
                report.older += 1
                if not rewrite:
                    continue
                # Only if unchanged meanwhile: a secret set while this runs is newer (and already current).
                done = conn.execute(
                    raw.update().where(pk == row_id, value == token).values({value.name: fresh})
                )
                report.rotated += done.rowcount
        reports.append(report)
    return reports
