"""The in-process bus and the after-commit rule: a rolled-back change publishes nothing."""

from __future__ import annotations

import asyncio
import threading

from sqlalchemy import text
from sqlalchemy.orm import Session

from crm_bridge.realtime import bus as realtime
from crm_bridge.realtime.events import emit
from tests.helpers import run_async


def test_events_wait_for_the_commit_and_die_with_a_rollback(session: Session) -> None:
    async def scenario() -> list[dict[str, int]]:
        local = realtime.InProcessBus()
        await local.start()
        realtime.attach(local)
        try:
            sub = local.subscribe(["contact:42"])
            session.execute(text("SELECT 1"))  # a transaction with database work, as in a service
            emit(session, "contact:42", {"n": 1})
            session.rollback()  # the change behind event 1 never happened
            session.execute(text("SELECT 1"))
            emit(session, "contact:42", {"n": 2})
            assert sub.queue.empty()  # nothing before the commit
            # Commit from another thread, as sync request handlers do.
            worker = threading.Thread(target=session.commit)
            worker.start()
            worker.join()
            got = [await asyncio.wait_for(sub.get(), 5)]
            await asyncio.sleep(0.05)
            assert sub.queue.empty()
            sub.close()
            return got
        finally:
            realtime.detach(local)

    assert run_async(scenario()) == [{"n": 2}]


def test_overflow_is_flagged_not_silent() -> None:
    async def scenario() -> bool:
        local = realtime.InProcessBus()
        await local.start()
        sub = local.subscribe(["agents"])
        for i in range(realtime.QUEUE_LIMIT + 1):
            await local.publish("agents", {"i": i})
        return sub.overflowed

    assert run_async(scenario()) is True
