"""List responses: `{items, total}` with limit/offset."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
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


def paginate(session: Session, stmt: Select[Any], params: PageParams) -> tuple[list[Any], int]:
    """Rows of one page of `stmt` and the total count."""
    # unique(): a joined-eager collection repeats the parent row once per child.
    rows = list(session.scalars(stmt.limit(params.limit).offset(params.offset)).unique())
    if params.offset == 0 and len(rows) < params.limit:
        # A first page that is not full holds everything: no COUNT query (the common exact lookup).
        return rows, len(rows)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    return rows, int(total)
