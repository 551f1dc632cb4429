"""readable rows: the database refuses what the API could not read back

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 10:00:00.000000

The columns below were NOT NULL but still took what the read shapes refuse: a JSON `null` in a JSON
column (a Python None is stored as JSON null, not SQL NULL, so NOT NULL never fired) or an enum value
that is not one (non-native enums carry no constraint). Issue 25: one such row made every contact list
answer 500. Rows already broken are repaired first (to the value a new row gets), then:

- PostgreSQL: a CHECK constraint per rule, named ck_<table>_<column>_<rule>.
- SQLite: the same rule as BEFORE INSERT / BEFORE UPDATE OF triggers (SQLite cannot add a CHECK to a
  table without rebuilding it, and rebuilding `contacts` with foreign keys on would cascade-delete its
  identities). A later batch migration that rebuilds one of these tables on SQLite drops its triggers:
  tests/crm_bridge/test_migrations.py checks they are there at head.
"""

from collections.abc import Callable, Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, JSON kind the column must hold, value that repairs a row that does not)
JSON_KINDS = [
    ("contacts", "tags", "array", "[]"),
    ("contacts", "attributes", "object", "{}"),
    ("users", "languages", "array", '["en"]'),
    ("faq_entries", "tags", "array", "[]"),
]
# (table, column, the values the read shape accepts, value that repairs a row that does not)
ENUMS = [
    ("contacts", "tier", ("standard", "vip"), "standard"),
    ("users", "role", ("agent", "admin"), "agent"),
    ("faq_entries", "status", ("draft", "published", "archived"), "draft"),
    ("tickets", "status", ("new", "open", "pending", "resolved", "closed"), "open"),
    ("tickets", "priority", ("low", "normal", "high", "urgent"), "normal"),
]


def _rules(dialect: str) -> list[tuple[str, str, str, Callable[[str], str], str]]:
    """(table, column, constraint name, the condition a good value of an expression meets, repair SQL)."""
    rules: list[tuple[str, str, str, Callable[[str], str], str]] = []
    for table, column, kind, repair in JSON_KINDS:
        name = f"ck_{table}_{column}_is_{kind}"
        if dialect == "postgresql":
            rules.append((table, column, name, _pg_json(kind), f"'{repair}'::json"))
        else:
            rules.append((table, column, name, _sqlite_json(kind), f"'{repair}'"))
    for table, column, values, repair in ENUMS:
        rules.append((table, column, f"ck_{table}_{column}_known", _one_of(values), f"'{repair}'"))
    return rules


def _pg_json(kind: str) -> Callable[[str], str]:
    return lambda expr: f"json_typeof({expr}) = '{kind}'"


def _sqlite_json(kind: str) -> Callable[[str], str]:
    # CASE, not AND: json_type() raises on text that is not JSON, and AND does not promise to stop first.
    return lambda expr: f"CASE WHEN json_valid({expr}) THEN json_type({expr}) = '{kind}' ELSE 0 END"


def _one_of(values: tuple[str, ...]) -> Callable[[str], str]:
    listed = ", ".join(f"'{v}'" for v in values)
    return lambda expr: f"{expr} IN ({listed})"


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table, column, name, good, fix in _rules(dialect):
        # NULL is NOT NULL's to refuse; only non-null values that break the rule are repaired.
        op.execute(f"UPDATE {table} SET {column} = {fix} WHERE {column} IS NOT NULL AND NOT ({good(column)})")
        if dialect == "postgresql":
            op.create_check_constraint(op.f(name), table, good(column))
            continue
        for when, event in (("insert", "INSERT"), ("update", f"UPDATE OF {column}")):
            op.execute(
                f"CREATE TRIGGER {name}_{when} BEFORE {event} ON {table} "
                f"WHEN NEW.{column} IS NOT NULL AND NOT ({good(f'NEW.{column}')}) "
                f"BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {name}'); END"
            )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table, _column, name, _good, _fix in reversed(_rules(dialect)):
        if dialect == "postgresql":
            op.drop_constraint(op.f(name), table, type_="check")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {name}_update")
            op.execute(f"DROP TRIGGER IF EXISTS {name}_insert")
