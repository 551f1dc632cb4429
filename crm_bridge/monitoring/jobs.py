"""Job counters from huey's signals, in whichever process runs the job (crm_bridge's threads or a
`kefu jobs worker`); imported by crm_bridge.worker so every worker registers them."""

from __future__ import annotations

import threading
import time

from huey import signals as huey_signals
from huey.api import PeriodicTask, Task

from crm_bridge.jobs import queue
from crm_bridge.observability.metrics import JOB_FAILURES, JOB_RETRIES, JOB_RUNS, JOBS_DEAD

_started: dict[str, float] = {}  # task id -> when this process began running it
_lock = threading.Lock()


def _ran(task: Task, outcome: str) -> None:
    with _lock:
        started = _started.pop(task.id, None)
    if started is not None:
        JOB_RUNS.labels(task.name, outcome).observe(time.perf_counter() - started)


@queue.huey.signal(huey_signals.SIGNAL_EXECUTING)
def _executing(signal: str, task: Task) -> None:
    with _lock:
        _started[task.id] = time.perf_counter()


@queue.huey.signal(huey_signals.SIGNAL_COMPLETE)
def _complete(signal: str, task: Task) -> None:
    _ran(task, "done")


@queue.huey.signal(huey_signals.SIGNAL_ERROR)
def _error(signal: str, task: Task, exc: BaseException | None = None) -> None:
    _ran(task, "error")
    JOB_FAILURES.labels(task.name).inc()
    # Like the dead-job hook (jobs/queue.py): the error signal comes before the retry decision.
    if not task.retries and not isinstance(task, PeriodicTask):
        JOBS_DEAD.labels(task.name).inc()


@queue.huey.signal(huey_signals.SIGNAL_RETRYING)
def _retrying(signal: str, task: Task) -> None:
    _ran(task, "retry")  # a RetryTask (no error signal before it) ends its run here
    JOB_RETRIES.labels(task.name).inc()
