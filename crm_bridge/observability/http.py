"""Request latency per route template: `/api/v1/tickets/{number}`, never the raw path (ids and tokens in
paths would make a series per request)."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm_bridge.observability.metrics import HTTP_LATENCY


def route_of(scope: Scope) -> str:
    """The matched route's template; a mount's prefix (static files); "unmatched" for a 404 path."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if isinstance(template, str):
        return template
    root = scope.get("app_root_path") or ""
    if "endpoint" in scope and isinstance(root, str) and root:
        return root
    return "unmatched"


class MetricsMiddleware:
    """Observes each HTTP request's time once it finishes (a raised error counts as a 500)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one connection scope."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def noted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, noted)
        finally:
            HTTP_LATENCY.labels(route_of(scope), scope["method"], f"{status // 100}xx").observe(
                time.perf_counter() - started
            )
