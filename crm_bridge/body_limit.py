"""Request bodies are limited while they are read: 413 before the rest arrives, and before any route or
authentication runs (a 40 MB body to a public route was read whole, then refused)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm_bridge.errors import error_body


class BodyLimitMiddleware:
    """Refuses HTTP bodies over `default` bytes, or over the limit of the longest matching path prefix."""

    def __init__(self, app: ASGIApp, *, default: int, by_prefix: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.default = default
        self.by_prefix = sorted((by_prefix or {}).items(), key=lambda item: -len(item[0]))

    def limit_for(self, path: str) -> int:
        """The byte limit for a request to `path`."""
        return next((limit for prefix, limit in self.by_prefix if path.startswith(prefix)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one connection scope."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(scope, send, limit)
            return
        received = 0
        started = refused = False

        async def counted() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:  # a body without a length (chunked), or longer than it said
                    # Answered here: the app only sees the client leave (its own error reply is dropped).
                    refused = True
                    if not started:
                        await self._refuse(scope, send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted, tracked)

    @staticmethod
    async def _refuse(scope: Scope, send: Send, limit: int) -> None:
        request_id = str(scope.get("state", {}).get("request_id", ""))
        body = json.dumps(
            error_body("payload_too_large", f"the request body is over {limit} bytes", request_id)
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        # The client may still be sending: tell it this connection is done rather than read the rest.
        headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
