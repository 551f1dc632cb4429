"""The request's database session, as a FastAPI dependency (the engine and base live in kefu_core.db)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from kefu_core.db import get_sessionmaker


def get_db() -> Iterator[Session]:
    """One session per request: committed by the service that writes, rolled back on error."""
    session = get_sessionmaker()()
    try:
        yield session
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


DbSession = Annotated[Session, Depends(get_db)]
