"""One access-log line per HTTP request: method, path, status, time and request id — never the query
string (search questions, widget tokens) or a header. uvicorn's own access log stays off (kefu/stack.py,
Docker)."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("kefu.access")


class AccessLogMiddleware:
    """Logs each request at INFO on `kefu.access` once its response has started."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one connection scope."""
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def logged(message: Message) -> None:
            if message["type"] == "http.response.start":
                request_id = scope.get("state", {}).get("request_id", "-")
                elapsed = (time.perf_counter() - started) * 1000
                log.info(
                    "%s %s status=%d took=%.1fms id=%s",
                    scope["method"],
                    scope["path"],
                    message["status"],
                    elapsed,
                    request_id,
                )
            await send(message)

        await self.app(scope, receive, logged)
