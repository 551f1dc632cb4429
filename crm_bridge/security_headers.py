"""Headers every response carries in production: HSTS, and a Content-Security-Policy where the route set
none (the admin pages set their own, stricter one in crm_bridge/pages/guard.py)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HSTS = "max-age=31536000; includeSubDomains"
# JSON and scripts: nothing may load from them, nobody may frame them.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
# Other pages (the widget demo): this server's scripts only; inline styles allowed for the demo's <style>.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


class SecurityHeadersMiddleware:
    """Adds HSTS, X-Content-Type-Options and a CSP (unless the response has one) to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one connection scope."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                html = any(n.lower() == b"content-type" and v.startswith(b"text/html") for n, v in headers)
                headers.append((b"strict-transport-security", HSTS.encode()))
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", (PAGE_CSP if html else API_CSP).encode()))
                if b"x-content-type-options" not in names:
                    headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
