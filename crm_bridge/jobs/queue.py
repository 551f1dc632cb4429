"""The one huey instance every task is registered on, its storage chosen by settings, and its workers.

SQLite (a file under var/) is the default, so `make run` needs nothing else; Redis is selected with
KEFU_JOBS_BACKEND=redis for workers on several machines. Why huey: docs/decisions/0013-job-queue.md.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

from huey import Huey
from huey import signals as huey_signals
from huey.api import PeriodicTask, Task, TaskWrapper
from huey.consumer import Consumer, Worker
from huey.storage import BaseStorage, RedisStorage, SqliteStorage

from kefu_core.settings import Settings, get_settings

log = logging.getLogger("kefu.jobs")

# results=False: callers that wait for a turn read its outcome from the database, not from huey.
huey = Huey("kefu-jobs", results=False, utc=True, storage_class=SqliteStorage, filename=":memory:")
TASKS: dict[str, TaskWrapper] = {}
_dead_job_hooks: list[Callable[[Task, BaseException], None]] = []


def storage_for(settings: Settings) -> BaseStorage:
    """The queue storage the settings ask for (the queue's name carries KEFU_REDIS_PREFIX)."""
    name = f"{settings.redis_prefix}jobs"
    if settings.jobs_backend == "redis":
        return RedisStorage(name, url=settings.jobs_redis)
    path = settings.jobs_sqlite_file
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteStorage(name, filename=str(path))


def configure(settings: Settings | None = None) -> Huey:
    """Point the queue at the storage the (current) settings name; every process calls this once."""
    settings = settings or get_settings()
    old = huey.storage
    huey.storage = storage_for(settings)
    huey.name = huey.storage.name
    old.close()
    return huey


def task(name: str, **options: Any) -> Callable[[Callable[..., Any]], TaskWrapper]:
    """Register a function as a queue task under a stable `name` (dead jobs are replayed by it)."""

    def decorator(fn: Callable[..., Any]) -> TaskWrapper:
        wrapper: TaskWrapper = huey.task(name=name, **options)(fn)
        TASKS[name] = wrapper
        return wrapper

    return decorator


def on_dead_job(hook: Callable[[Task, BaseException], None]) -> None:
    """Call `hook(task, error)` when a task fails with no retries left."""
    _dead_job_hooks.append(hook)


@huey.signal(huey_signals.SIGNAL_ERROR)
def _failed(signal: str, task: Task, exc: BaseException | None = None) -> None:
    # SIGNAL_ERROR comes before the retry decision: with no retries left this attempt was the last.
    if task.retries or isinstance(task, PeriodicTask) or exc is None:
        return
    for hook in _dead_job_hooks:
        try:
            hook(task, exc)
        except Exception:  # a hook must never take the worker down
            log.exception("dead-job hook failed for task %s", task.id)


def worker_name() -> str:
    """This worker's name as stored on the work it did (and as a lease owner): host, process id, and
    the thread's id and name (two consumers in one process both have a "Worker-1")."""
    thread = threading.current_thread()
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_native_id()}:{thread.name}"[:100]


# Released once per job this process enqueues: an idle in-app worker starts on it at once instead of
# after its polling delay (up to 0.5 s on SQLite), which a customer waiting for a reply would notice.
_wake = threading.Semaphore(0)


@huey.signal(huey_signals.SIGNAL_ENQUEUED)
def _enqueued(signal: str, task: Task) -> None:
    _wake.release()


class WakeableWorker(Worker):
    """A huey worker whose idle wait ends when this process enqueues a job."""

    def sleep(self) -> None:
        """Wait for a job enqueued here, or the polling delay (for jobs enqueued elsewhere)."""
        delay = min(float(vars(self)["delay"]), self.max_delay)  # huey sets it untyped in __init__
        if _wake.acquire(timeout=delay):
            self.delay = self.default_delay
        else:
            self.delay = delay * self.backoff


class InAppConsumer(Consumer):
    """Worker threads inside another program (crm_bridge), which keeps its own signal handlers."""

    worker_class = WakeableWorker

    def _set_signal_handlers(self) -> None:
        return None


def start_in_app(workers: int, *, shutdown_timeout: float) -> Consumer | None:
    """Start `workers` threads (and the scheduler for retries and periodic tasks); None when 0."""
    if workers <= 0:
        return None
    consumer = InAppConsumer(
        huey,
        workers=workers,
        worker_type="thread",
        periodic=True,
        check_worker_health=False,
        shutdown_timeout=shutdown_timeout,
        max_delay=0.5,  # an idle SQLite queue is polled at least twice a second (Redis blocks instead)
    )
    consumer.start()
    return consumer


def run_consumer(workers: int, *, processes: bool, shutdown_timeout: float | None = None) -> None:
    """Run workers in the foreground until SIGINT/SIGTERM (`kefu jobs worker`): SIGTERM, what Kubernetes
    and compose send, lets the running jobs finish within `shutdown_timeout`; SIGINT stops at once."""
    consumer = Consumer(
        huey,
        workers=workers,
        worker_type="process" if processes else "thread",
        periodic=True,
        max_delay=0.5,
        graceful_signal="TERM",
        shutdown_timeout=shutdown_timeout,
    )
    consumer.run()
