"""List responses: `{items, total}` with limit/offset."""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list and the total across pages."""

    items: list[T]
    total: int


class PageParams(BaseModel):
    """Paging query parameters."""

    limit: int = 50
    offset: int = 0


async def page_params(
    limit: Annotated[int, Query(ge=1, le=500, description="items per page")] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="items to skip")] = 0,
) -> PageParams:
    """Dependency reading `limit` and `offset`."""
    return PageParams(limit=limit, offset=offset)


_PAGED: weakref.WeakKeyDictionary[Select[Any], Select[Any]] = weakref.WeakKeyDictionary()


def _paged(stmt: Select[Any]) -> Select[Any]:
    """`stmt` with a bound LIMIT and OFFSET, made once per statement object.

    SQLAlchemy keys its compiled-statement cache on a key it computes once per statement object; a
    statement built once and reused with bound values (see `contacts.service.search_query`) skips that
    work and the ORM's setup, half of an exact lookup's database time, as long as its page is too.
    """
    paged = _PAGED.get(stmt)
    if paged is None:
        paged = _PAGED[stmt] = stmt.limit(bindparam("page_limit")).offset(bindparam("page_offset"))
    return paged


def paginate(
    session: Session, stmt: Select[Any], params: PageParams, values: Mapping[str, Any] | None = None
) -> tuple[list[Any], int]:
    """Rows of one page of `stmt` (with `values` for its bound parameters) and the total count."""
    bound = {**(values or {}), "page_limit": params.limit, "page_offset": params.offset}
    # unique(): a joined-eager collection repeats the parent row once per child.
    rows = list(session.scalars(_paged(stmt), bound).unique())
    if params.offset == 0 and len(rows) < params.limit:
        # A first page that is not full holds everything: no COUNT query (the common exact lookup).
        return rows, len(rows)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()), values) or 0
    return rows, int(total)
