"""The event bus behind the WebSockets: in-process, or Redis pub/sub so several workers share events.

Events are JSON-able dicts published on named channels (`contact:<id>` for a customer's sockets,
`agents` for agent sockets). Every socket holds a Subscription: a bounded asyncio queue filled on the
event loop. With Redis, each worker keeps ONE pattern subscription and fans events out locally, and
local publishes also go through Redis, so every worker sees the same order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

log = logging.getLogger("kefu.realtime")
TIMEOUT_S = 2.0  # connecting to and answering from Redis, for the publishing clients
Event = dict[str, Any]
QUEUE_LIMIT = 5000


class Subscription:
    """Events for a set of channels, read with `await get()`; `overflowed` when the reader fell behind."""

    def __init__(self, bus: Bus, channels: Iterable[str]) -> None:
        self.bus = bus
        self.channels = set(channels)
        self.queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_LIMIT)
        self.overflowed = False

    async def get(self) -> Event:
        """The next event."""
        return await self.queue.get()

    def add(self, channel: str) -> None:
        """Also receive `channel`."""
        self.channels.add(channel)
        self.bus._index(self, channel)

    def close(self) -> None:
        """Stop receiving."""
        self.bus._remove(self)


async def relay(
    subscription: Subscription,
    send: Callable[[Event], Awaitable[None]],
    visible: Callable[[Event], Event | None],
) -> None:
    """Send each event `visible` lets through, until the reader falls too far behind (then return:
    the caller closes the socket and the client resumes from the database)."""
    while True:
        event = await subscription.get()
        if subscription.overflowed:
            return
        frame = visible(event)
        if frame is not None:
            await send(frame)


class Bus:
    """Local fan-out shared by both implementations; subclasses decide how a publish travels."""

    def __init__(self) -> None:
        self._subs: dict[str, set[Subscription]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None

    async def start(self) -> None:
        """Bind to the running event loop."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()

    async def stop(self) -> None:
        """Release connections."""

    def subscribe(self, channels: Iterable[str]) -> Subscription:
        """A new subscription (call on the event loop)."""
        sub = Subscription(self, channels)
        for channel in sub.channels:
            self._index(sub, channel)
        return sub

    def _index(self, sub: Subscription, channel: str) -> None:
        self._subs.setdefault(channel, set()).add(sub)

    def _remove(self, sub: Subscription) -> None:
        for channel in sub.channels:
            subs = self._subs.get(channel)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[channel]

    def _deliver(self, channel: str, event: Event) -> None:
        """Hand an event to local subscribers (on the event loop)."""
        for sub in list(self._subs.get(channel, ())):
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                # The socket is told to reconnect and resume from the database: nothing is lost.
                sub.overflowed = True

    def on_loop_thread(self) -> bool:
        """True when called from the bus's event-loop thread."""
        return threading.get_ident() == self._loop_thread

    async def publish(self, channel: str, event: Event) -> None:
        """Publish from async code."""
        raise NotImplementedError

    def publish_threadsafe(self, channel: str, event: Event) -> None:
        """Publish from any thread (sync request handlers run in a thread pool)."""
        raise NotImplementedError


class InProcessBus(Bus):
    """One worker: events never leave the process."""

    async def publish(self, channel: str, event: Event) -> None:
        """Deliver at once."""
        self._deliver(channel, event)

    def publish_threadsafe(self, channel: str, event: Event) -> None:
        """Deliver on the loop (directly when already on it)."""
        if self._loop is None:
            return
        if self.on_loop_thread():
            self._deliver(channel, event)
        else:
            self._loop.call_soon_threadsafe(self._deliver, channel, event)


class RedisBus(Bus):
    """Several workers: publish to Redis; one pattern subscription per worker feeds local sockets."""

    def __init__(self, url: str, prefix: str = "kefu:") -> None:
        super().__init__()
        self.url = url
        self.prefix = prefix
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._aclient: Any = None
        self._asub: Any = None
        self._sync: Any = None

    async def start(self) -> None:
        """Connect and start the reader; returns once the subscription is active."""
        import redis
        import redis.asyncio as aredis

        await super().start()
        self._ready = asyncio.Event()
        # Publishing clients time out: a Redis that hangs must not hold a request (its write is committed).
        self._aclient = aredis.from_url(self.url, socket_connect_timeout=TIMEOUT_S, socket_timeout=TIMEOUT_S)
        self._sync = redis.Redis.from_url(
            self.url, socket_connect_timeout=TIMEOUT_S, socket_timeout=TIMEOUT_S
        )
        # The subscription waits for messages as long as it likes (get_message has its own timeout).
        self._asub = aredis.from_url(self.url, socket_connect_timeout=TIMEOUT_S)
        self._task = asyncio.create_task(self._read())
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def _read(self) -> None:
        while True:
            pubsub = self._asub.pubsub()
            try:
                await pubsub.psubscribe(self.prefix + "*")
                self._ready.set()
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
                    if message is None or message.get("type") != "pmessage":
                        continue
                    channel = message["channel"].decode()[len(self.prefix) :]
                    self._deliver(channel, json.loads(message["data"]))
            except asyncio.CancelledError:
                await pubsub.aclose()
                raise
            except Exception as exc:  # connection lost: resubscribe; sockets resume from the database
                log.warning("redis subscription lost (%s); reconnecting", exc)
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                await asyncio.sleep(1.0)

    async def stop(self) -> None:
        """Cancel the reader and close connections."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        for client in (self._aclient, self._asub):
            if client is not None:
                await client.aclose()
        if self._sync is not None:
            self._sync.close()

    async def publish(self, channel: str, event: Event) -> None:
        """PUBLISH through the async client; a Redis failure is logged, not raised (publish_threadsafe)."""
        try:
            await self._aclient.publish(self.prefix + channel, json.dumps(event, default=str))
        except Exception as exc:
            log.warning("redis publish failed (%s); sockets catch up from the database", type(exc).__name__)

    def publish_threadsafe(self, channel: str, event: Event) -> None:
        """PUBLISH from a worker thread (sync client), or schedule it when on the loop.

        Events are sent after the write they announce is committed: a Redis failure must not turn that
        committed write into a 500, and a socket that missed the event reloads from the database.
        """
        if self._loop is None:
            return
        if self.on_loop_thread():
            self._loop.create_task(self.publish(channel, event))
            return
        try:
            self._sync.publish(self.prefix + channel, json.dumps(event, default=str))
        except Exception as exc:
            log.warning("redis publish failed (%s); sockets catch up from the database", type(exc).__name__)


class RedisPublisher(Bus):
    """A process with no sockets (`kefu jobs worker`): its events go to Redis for crm_bridge's sockets
    and waiting requests; it subscribes to nothing."""

    def __init__(self, url: str, prefix: str = "kefu:") -> None:
        import redis

        super().__init__()
        self.prefix = prefix
        self._sync = redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT_S, socket_timeout=TIMEOUT_S)

    async def publish(self, channel: str, event: Event) -> None:
        """PUBLISH (blocking briefly; this process serves no sockets)."""
        self.publish_threadsafe(channel, event)

    def publish_threadsafe(self, channel: str, event: Event) -> None:
        """PUBLISH from any thread; a Redis failure is logged (readers fall back to the database)."""
        try:
            self._sync.publish(self.prefix + channel, json.dumps(event, default=str))
        except Exception as exc:
            log.warning("redis publish failed (%s); readers catch up from the database", type(exc).__name__)


_live: list[Bus] = []  # buses of the apps running in this process, newest last


def make_bus(redis_url: str, prefix: str = "kefu:") -> Bus:
    """Redis when a URL is configured, in-process otherwise."""
    return RedisBus(redis_url, prefix) if redis_url else InProcessBus()


def attach(bus: Bus) -> None:
    """Make `bus` the process's current bus (an app's lifespan, at start)."""
    detach(bus)
    _live.append(bus)


def detach(bus: Bus) -> None:
    """Forget `bus` (at shutdown); the newest still-running app's bus is current again."""
    if bus in _live:
        _live.remove(bus)


def current() -> Bus | None:
    """The process's bus, or None outside a running app."""
    return _live[-1] if _live else None
