"""Hot read routes: the query, the response model and its JSON in one trip off the event loop."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import Response
from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from kefu_core.db import read_session

# Two threads per process: one runs Python while the other waits on the database. With FastAPI's
# forty, ten concurrent lookups fought over the interpreter lock and p95 doubled (27 ms against 14).
READ_THREADS = 2
_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, CapacityLimiter] = weakref.WeakKeyDictionary()


def _limiter() -> CapacityLimiter:
    # One per event loop: a limiter's waiters belong to the loop they wait on (tests run several apps).
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = CapacityLimiter(READ_THREADS)
    return limiter


async def read_json(
    adapter: TypeAdapter[Any], query: Callable[[Session], Any], *, indexed: bool = True
) -> Response:
    """`query`'s result in a read-only session, answered as `adapter`'s JSON, all in one worker thread.

    A sync route with a session dependency hops between the event loop and the thread pool four times
    (session open, handler, response check, session close); under load each hop waits its turn for
    the interpreter, and on a lookup those waits were most of the latency. An `indexed` query (answered
    in milliseconds) waits for one of the `READ_THREADS`; anything that may scan a table runs in the
    general thread pool, so that a slow search never holds up lookups. The response is built from the
    same model, with FastAPI's aliases, so its JSON is what `response_model` would give.
    """

    def work() -> bytes:
        with read_session() as session:
            # Validated inside the session: lazy attributes still load.
            value = adapter.validate_python(query(session), from_attributes=True)
            return adapter.dump_json(value, by_alias=True)

    body = await anyio.to_thread.run_sync(work, limiter=_limiter() if indexed else None)
    return Response(body, media_type="application/json")
