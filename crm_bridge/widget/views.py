"""Widget routes: session, history, the script and the demo shop page."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm_bridge.conversations import service as conversations
from crm_bridge.db import DbSession
from crm_bridge.ratelimit import SlidingWindow
from crm_bridge.realtime.events import message_object
from crm_bridge.shapes import AfterId
from crm_bridge.widget import sessions
from crm_bridge.widget.models import WidgetSession

HERE = Path(__file__).resolve().parent
# The one-tag embed: the language rule (static/lang.js, also tested alone in a browser) and the widget are
# served as one classic script, wrapped in one closure so that nothing of lang.js leaks onto the host page.
WIDGET_PARTS = (HERE / "static" / "lang.js", HERE / "static" / "widget.js")
router = APIRouter(tags=["widget"])
templates = Jinja2Templates(directory=str(HERE / "templates"))
_bearer = HTTPBearer(auto_error=False)


class SessionRequest(BaseModel):
    """The token the browser holds (if any) and its language."""

    model_config = ConfigDict(extra="forbid")

    token: str | None = Field(None, max_length=2000)
    language: Literal["en", "zh"] | None = None


def widget_session(
    session: DbSession, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> WidgetSession:
    """The widget session of `Authorization: Bearer <widget token>`; 401 otherwise."""
    widget = sessions.verify(session, credentials.credentials if credentials else None)
    if widget is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "invalid or expired widget token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return widget


@router.post("/api/v1/widget/session")
def start_session(body: SessionRequest, session: DbSession, request: Request) -> dict[str, Any]:
    """A rotated token for a valid one; a new anonymous session otherwise (rate-limited per address)."""
    limiter: SlidingWindow = request.app.state.widget_sessions
    address = request.client.host if request.client else "unknown"
    issued = sessions.start_or_rotate(  # each new session is a new contact: limited per address
        session, body.token, body.language, before_new=lambda: limiter.check(address, "new chat sessions")
    )
    conversation = sessions.latest_conversation(session, issued.contact_id)
    session.commit()
    return {
        "token": issued.token,
        "conversation_id": conversation.id if conversation else None,
        "expires_at": issued.expires_at.isoformat(),
    }


@router.get("/api/v1/widget/history")
def history(
    session: DbSession,
    widget: Annotated[WidgetSession, Depends(widget_session)],
    after: AfterId = 0,
) -> dict[str, Any]:
    """The widget's own conversation: status and messages after `after`."""
    conversation = sessions.latest_conversation(session, widget.contact_id)
    if conversation is None:
        return {"conversation_id": None, "status": "bot", "messages": []}
    messages = conversations.messages_after(session, conversation.id, after)
    return {
        "conversation_id": conversation.id,
        "status": conversation.status.value,
        "messages": [message_object(m) for m in messages],
    }


@lru_cache(maxsize=1)
def widget_script() -> tuple[bytes, str]:
    """The embeddable widget script (static/lang.js and static/widget.js in one closure) and its ETag."""
    parts = "\n".join(path.read_text(encoding="utf-8") for path in WIDGET_PARTS)
    header = "// kefu website chat widget (static/lang.js + static/widget.js)\n"
    body = f"{header}(function () {{\n{parts}\n}})();\n".encode()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


@router.get("/widget.js", include_in_schema=False)
def widget_js(request: Request) -> Response:
    """The embeddable widget script; browsers revalidate it by ETag (304 when unchanged)."""
    body, etag = widget_script()
    headers = {"ETag": etag, "Cache-Control": "public, max-age=300, must-revalidate"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)


@router.get("/demo", response_class=HTMLResponse, include_in_schema=False)
def demo(request: Request) -> HTMLResponse:
    """A demo shop page with the widget embedded."""
    return templates.TemplateResponse(request, "demo.html", {})


# The widget is embedded on other sites; its routes take a bearer token (never cookies): any origin may call.
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Max-Age": "600",
    # Chromium's Private Network Access: a public page may call a widget server on a private address.
    "Access-Control-Allow-Private-Network": "true",
}


class WidgetCorsMiddleware:
    """CORS for /api/v1/widget/* only (preflight answered here); pure ASGI, so other routes pay nothing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass through, adding the CORS headers to widget responses."""
        if scope["type"] != "http" or not scope["path"].startswith("/api/v1/widget/"):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            await Response(status_code=204, headers=CORS_HEADERS)(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in CORS_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_cors)
