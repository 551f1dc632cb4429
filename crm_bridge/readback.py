"""No write may store a row its own read shape cannot read back: checked before every flush.

`guard(Model, ModelRead)` ties an ORM model to the response model the API reads it with. Before any
flush of a session (so before any commit), every new or changed column value of a guarded row is
validated against the read model's field of the same name; a value that would not read back (a null
list, an unknown enum value) stops the flush with `UnreadableRow`, so the transaction is rolled back
and the stored row stays as it was. The request validation should have refused such a value already:
this is the second line (the database's constraints, migration 0009, are the third).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, UOWTransaction
from sqlalchemy.sql import ClauseElement

_read_models: dict[type, type[BaseModel]] = {}
_adapters: dict[type, dict[str, TypeAdapter[Any]]] = {}


class UnreadableRow(RuntimeError):
    """A write would store a value the API's read shape refuses (a server bug: answered with 500)."""


def guard(model: type, read: type[BaseModel]) -> None:
    """Check `model`'s rows against `read` (its columns that are also fields of `read`) before each flush."""
    _read_models[model] = read
    _adapters.pop(model, None)


def _adapters_for(model: type) -> dict[str, TypeAdapter[Any]]:
    adapters = _adapters.get(model)
    if adapters is None:
        read = _read_models[model]
        columns: set[str] = set(inspect(model).column_attrs.keys())
        adapters = {
            name: TypeAdapter(info.annotation) for name, info in read.model_fields.items() if name in columns
        }
        _adapters[model] = adapters
    return adapters


def check(obj: object, *, new: bool) -> None:
    """UnreadableRow if a guarded row's new or changed values would not read back."""
    model = type(obj)
    if model not in _read_models:
        return
    state = inspect(obj)
    changed = state.dict.keys() if new else state.committed_state.keys()
    adapters = _adapters_for(model)
    for name in changed:
        adapter = adapters.get(name)
        value = state.dict.get(name)
        if adapter is None or isinstance(value, ClauseElement):
            continue
        try:
            adapter.validate_python(value)
        except ValidationError as exc:
            problem = exc.errors()[0]["msg"]
            raise UnreadableRow(
                f"{model.__name__}.{name} = {value!r:.80} would not read back as "
                f"{_read_models[model].__name__}.{name} ({problem}); nothing was written"
            ) from exc


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context: UOWTransaction, _instances: object) -> None:
    for obj in session.new:
        check(obj, new=True)
    for obj in session.dirty:
        check(obj, new=False)
