"""The queue tasks that answer turns, and the sweeper that re-enqueues turns whose job was lost."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache

from huey import crontab
from huey.exceptions import RetryTask
from sqlalchemy.orm import Session

from crm_bridge.jobs import leases
from crm_bridge.jobs.queue import huey, task, worker_name
from crm_bridge.observability.tracing import span
from crm_bridge.rasa_client import RasaClient
from crm_bridge.turns import service as turns
from crm_bridge.turns.flows import Policy, run_next
from kefu_core.db import get_sessionmaker, utcnow
from kefu_core.logs import conversation_context
from kefu_core.settings import get_settings

log = logging.getLogger("kefu.turns")
SWEEP_GRACE_S = 30.0


@lru_cache(maxsize=4)
def _rasa(urls: str | tuple[str, ...], timeout_s: float) -> RasaClient:
    # One client per process: its replicas' health marks are shared by the worker's threads.
    return RasaClient(urls, timeout_s=timeout_s)


def _due(conversation_id: str) -> Callable[[Session], bool]:
    def due(session: Session) -> bool:
        turn = turns.next_pending(session, conversation_id)
        return turn is not None and turn.next_attempt_at <= utcnow()

    return due


# retries: for unexpected errors (the database away, a bug); after them the job is dead and kept for
# `kefu jobs replay`. An unreachable bot is counted on the turn instead (RetryTask keeps huey's count).
@task("turns.process", retries=3, retry_delay=1.0, retry_backoff=2.0)
def process_conversation(conversation_id: str) -> None:
    """Answer the conversation's pending turns in arrival order, one worker at a time."""
    settings = get_settings()
    policy = Policy(settings.turn_attempts, settings.turn_retry_delay_s)
    rasa = _rasa(tuple(settings.rasa_replicas), settings.rasa_timeout_s)
    owner = worker_name()

    def step(session: Session) -> float | None:
        return run_next(session, rasa, conversation_id, policy=policy, worker=owner)

    # Log lines carry the conversation id; with tracing on, the Rasa call is a child of this span.
    with conversation_context(conversation_id), span("turns.process", conversation_id=conversation_id):
        retry = leases.drain(
            f"turns:{conversation_id}",
            step,
            due=_due(conversation_id),
            owner=owner,
            # Longer than one turn can take; a dead owner's lease runs out.
            seconds=2 * settings.rasa_timeout_s + 30,
        )
    if retry is not None:
        raise RetryTask(delay=retry)


def enqueue(conversation_id: str) -> bool:
    """Queue a conversation's turns for answering; False (logged) when the queue is unreachable, in
    which case the sweeper picks the stored turn up."""
    try:
        process_conversation(conversation_id)
    except Exception as exc:
        log.error("could not enqueue conversation %s: %s", conversation_id, type(exc).__name__)
        return False
    return True


@huey.periodic_task(crontab(minute="*"), name="turns.sweep")
def sweep() -> None:
    """Re-enqueue conversations whose next turn is overdue (a worker was killed, the queue lost a job)."""
    with get_sessionmaker()() as session:
        stale = turns.overdue(session, grace_s=SWEEP_GRACE_S)
    for conversation_id in stale:
        enqueue(conversation_id)
    if stale:
        log.warning("re-enqueued %d conversation(s) with overdue turns", len(stale))
