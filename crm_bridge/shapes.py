"""Rules every request shape shares: what an explicit null means in a change, and how big an id may be.

A change (PATCH, or the partial PUT of canned replies) is a `ChangeBody`: a field left out keeps its
value; an explicit null clears the field only when the class names it in `clearable` (and the OpenAPI
document then says `anyOf: [..., null]`); on any other field null is refused with 422 naming the field
(and the document does not allow it).
"""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any, ClassVar

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler, ValidationInfo, field_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

# Every id column is a PostgreSQL `integer` (SQLite's are wider): a bigger id is refused with 422
# rather than failing in the driver.
MAX_ID = 2**31 - 1

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
"""A row id in a body."""

PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
"""A row id in the path."""

QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
"""An optional row id filter in the query string."""

AfterId = Annotated[int, Query(ge=0, le=MAX_ID)]
"""A message id to read after (0: from the start)."""

NULL_REFUSED = "null_not_allowed"


def _admits_none(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _admits_none(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        return type(None) in typing.get_args(annotation)
    return annotation is None or annotation is type(None)


class ChangeBody(BaseModel):
    """Base of change bodies: absent keeps a field; null clears it only if it is in `clearable`."""

    model_config = ConfigDict(extra="forbid")

    clearable: ClassVar[frozenset[str]] = frozenset()
    """Fields an explicit null clears (their column is nullable); null on any other field is a 422."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Refuse a `clearable` that names no field, or a field whose type has no None."""
        super().__pydantic_init_subclass__(**kwargs)
        unknown = cls.clearable - set(cls.model_fields)
        if unknown:
            raise TypeError(f"{cls.__name__}.clearable names no field: {sorted(unknown)}")
        for name in cls.clearable:
            if not _admits_none(cls.model_fields[name].annotation):
                raise TypeError(f"{cls.__name__}.{name} is clearable but its type does not admit None")

    @field_validator("*", mode="before")
    @classmethod
    def _null_only_where_clearable(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.clearable:
            raise PydanticCustomError(
                NULL_REFUSED, "cannot be null (leave the field out to keep its current value)"
            )
        return value

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """The generated schema without null (nor a null default) on fields that are not clearable."""
        schema = handler(core_schema)
        target = handler.resolve_ref_schema(schema)
        for name, prop in target.get("properties", {}).items():
            if name not in cls.clearable:
                _drop_null(prop)
        return schema


def _drop_null(prop: dict[str, Any]) -> None:
    options = prop.get("anyOf")
    if options is not None:
        rest = [option for option in options if option.get("type") != "null"]
        del prop["anyOf"]
        if len(rest) == 1:
            prop.update({k: v for k, v in rest[0].items() if k not in prop})
        else:
            prop["anyOf"] = rest
    if prop.get("type") == "null":
        del prop["type"]
    if "default" in prop and prop["default"] is None:
        del prop["default"]
