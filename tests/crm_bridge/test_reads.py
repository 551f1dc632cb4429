"""read_json: queries run off the event loop, at most READ_THREADS at once, errors reach the caller."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
from pydantic import TypeAdapter
from sqlalchemy import text
from sqlalchemy.orm import Session

from crm_bridge.reads import READ_THREADS, read_json
from kefu_core.errors import NotFound
from tests.helpers import kefu_env, run_async, sqlite_url


@pytest.mark.parametrize("indexed", [True, False])
def test_reads_run_in_a_few_threads_off_the_loop(tmp_path: Path, indexed: bool) -> None:
    # Indexed lookups share READ_THREADS; scans use the general pool, so they never hold lookups up.
    running, peak, threads = 0, 0, set()
    lock = threading.Lock()

    def query(session: Session) -> dict[str, int]:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
            threads.add(threading.get_ident())
        time.sleep(0.05)  # a slow query: the others must wait for a thread
        with lock:
            running -= 1
        return {"one": int(session.execute(text("SELECT 1")).scalar_one())}

    async def main() -> list[bytes]:
        loop_thread = threading.get_ident()
        adapter = TypeAdapter(dict[str, int])
        responses = await asyncio.gather(*(read_json(adapter, query, indexed=indexed) for _ in range(8)))
        assert loop_thread not in threads
        return [bytes(r.body) for r in responses]

    with kefu_env(DATABASE_URL=sqlite_url(tmp_path)):
        bodies = run_async(main())
    assert bodies == [b'{"one":1}'] * 8
    if indexed:
        assert peak == READ_THREADS
    else:
        assert peak > READ_THREADS


def test_a_query_error_reaches_the_caller(tmp_path: Path) -> None:
    def query(session: Session) -> None:
        raise NotFound("contact 7 not found")

    with kefu_env(DATABASE_URL=sqlite_url(tmp_path)), pytest.raises(NotFound, match="contact 7"):
        run_async(read_json(TypeAdapter(dict[str, int]), query))
