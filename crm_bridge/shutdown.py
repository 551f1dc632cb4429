"""Graceful shutdown: on SIGTERM a crm_bridge worker drains before uvicorn stops it.

The drain, in order: /readyz answers 503 (load balancers stop sending new traffic), every open
WebSocket is closed with 1012 "service restart" (the widget and the agent console reconnect, to
another replica when there is one, and resume from the database), the in-app job workers take no new
job and finish the one they run, and then uvicorn's own shutdown closes the listener, lets in-flight
requests finish and runs the app's lifespan shutdown — all within KEFU_SHUTDOWN_TIMEOUT. HTTP keeps
being served during the drain: a request that arrives before the load balancer noticed is answered
(its turn is queued, durable, for any worker), not refused.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable, MutableMapping
from types import FrameType
from typing import Any, Literal

from huey.consumer import Consumer
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.server import Server

log = logging.getLogger("kefu.shutdown")
SERVICE_RESTART = 1012  # RFC 6455 §7.4.1 (IANA registry): "the server is restarting, reconnect"
RESTART_FRAME = {"type": "websocket.close", "code": SERVICE_RESTART, "reason": "service restart"}
State = Literal["starting", "ready", "draining"]
Message = MutableMapping[str, Any]


class _Socket:
    """One open WebSocket, closable by the drain; the handler's later sends are dropped, not raised."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.closed = False

    async def send(self, message: Message) -> None:
        """The handler's send, silent once the drain closed the socket under it."""
        if self.closed:
            return
        if message["type"] == "websocket.close":
            self.closed = True
        await self._send(message)

    async def restart(self) -> None:
        """Tell the client to reconnect (1012)."""
        if self.closed:
            return
        self.closed = True
        try:
            await self._send(
                {"type": "websocket.close", "code": SERVICE_RESTART, "reason": "service restart"}
            )
        except Exception:  # already gone: nothing to tell
            log.debug("socket already closed when draining")


class Drain:
    """This worker's readiness and the sockets the drain must close."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.state: State = "starting"
        self.sockets: set[_Socket] = set()
        self.started_at: float | None = None

    @property
    def draining(self) -> bool:
        """True from the first SIGTERM on."""
        return self.state == "draining"

    async def close_sockets(self) -> int:
        """Close every open WebSocket with 1012; -> how many."""
        sockets = list(self.sockets)
        await asyncio.gather(*(s.restart() for s in sockets))
        return len(sockets)

    async def run(self, jobs: Consumer | None, then: Callable[[], None]) -> None:
        """The drain itself; `then` hands over to uvicorn's shutdown (called even when a step fails)."""
        self.state = "draining"
        self.started_at = time.monotonic()
        deadline = self.started_at + self.timeout_s
        try:
            closed = await self.close_sockets()
            log.info("draining: readiness off, %d socket(s) told to reconnect", closed)
            if jobs is not None:
                # The consumer's own join is bounded by what is left of the deadline.
                jobs.shutdown_timeout = max(deadline - time.monotonic(), 0.1)
                await asyncio.to_thread(jobs.stop, graceful=True)
                log.info("draining: job workers stopped after %.1f s", time.monotonic() - self.started_at)
                # The lifespan's shutdown stops them again: it must not wait past the deadline either.
                jobs.shutdown_timeout = max(deadline - time.monotonic(), 0.0)
        except Exception:  # a failed step must not keep the process from stopping
            log.exception("drain step failed; stopping anyway")
        finally:
            then()


def install(app: Any, timeout_s: float) -> Drain:
    """Keep a Drain on app.state.drain and close sockets through it (the ASGI middleware below)."""
    drain = Drain(timeout_s)
    app.state.drain = drain
    app.add_middleware(DrainMiddleware, drain=drain)
    return drain


class DrainMiddleware:
    """Tracks open WebSockets; while draining, a new WebSocket is accepted and closed with 1012 at once."""

    def __init__(self, app: ASGIApp, drain: Drain) -> None:
        self.app = app
        self.drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass HTTP through; wrap a WebSocket's send so the drain can close it."""
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        if self.drain.draining:
            await receive()  # websocket.connect
            await send({"type": "websocket.accept"})
            await send(dict(RESTART_FRAME))
            return
        sock = _Socket(send)
        self.drain.sockets.add(sock)
        try:
            await self.app(scope, receive, sock.send)
        finally:
            self.drain.sockets.discard(sock)


def on_sigterm(app: Any, jobs: Consumer | None) -> bool:
    """Mark the worker ready and, under uvicorn, drain on SIGTERM before uvicorn's shutdown; -> whether
    the handler was installed (not in tests that run the app in-process, nor outside the main thread)."""
    drain: Drain = app.state.drain
    drain.state = "ready"
    try:
        previous = signal.getsignal(signal.SIGTERM)
    except ValueError:
        return False
    server = getattr(previous, "__self__", None)
    if not isinstance(server, Server):
        return False  # not uvicorn's handler: leave the host program's signals alone
    loop = asyncio.get_running_loop()
    uvicorn_exit: Callable[[int, FrameType | None], None] = previous  # type: ignore[assignment]
    tasks: set[asyncio.Task[None]] = set()

    def hand_over() -> None:
        # What is left of the deadline bounds uvicorn's wait for in-flight requests.
        left = drain.timeout_s - (time.monotonic() - (drain.started_at or time.monotonic()))
        server.config.timeout_graceful_shutdown = max(int(left), 1)
        uvicorn_exit(signal.SIGTERM, None)

    def handler(sig: int, frame: FrameType | None) -> None:
        if drain.draining:  # a second SIGTERM: stop now
            uvicorn_exit(sig, frame)
            return
        drain.state = "draining"  # /readyz turns 503 before the loop even runs the drain

        def start() -> None:
            task = loop.create_task(drain.run(jobs, hand_over))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        loop.call_soon_threadsafe(start)

    signal.signal(signal.SIGTERM, handler)
    return True
