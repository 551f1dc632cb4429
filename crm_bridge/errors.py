"""The one error shape the API answers with: domain errors (kefu_core.errors) translated at the edge."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from kefu_core.errors import DomainError

log = logging.getLogger("kefu.errors")


def error_body(code: str, message: str, request_id: str, details: Any = None) -> dict[str, Any]:
    """The single error shape: {"error": {"code", "message", "details"?, "request_id"}}."""
    body: dict[str, Any] = {"code": code, "message": message, "request_id": request_id}
    if details is not None:
        body["details"] = details
    return {"error": body}


def retry_after(exc: DomainError) -> dict[str, str] | None:
    """A Retry-After header for an error that says when to come back (details.retry_after_s)."""
    details = exc.details
    if isinstance(details, dict) and isinstance(details.get("retry_after_s"), int):
        return {"Retry-After": str(details["retry_after_s"])}
    return None


def _request_id(request: Request) -> str:
    return getattr(request.state, "request_id", None) or uuid.uuid4().hex


def _validation_message(errors: list[dict[str, Any]]) -> str:
    parts = []
    for err in errors:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    """Translate every error at the edge into the one shape."""

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message, _request_id(request), exc.details),
            status_code=exc.status_code,
            headers=retry_after(exc),
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
        return JSONResponse(
            error_body("invalid_request", _validation_message(errors), _request_id(request), errors),
            status_code=422,
        )

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> JSONResponse:
        # The database refused a value as data (PostgreSQL: a NUL character in text, a number out of
        # range): the request's fault, and nothing was written.
        diag = getattr(exc.orig, "diag", None)
        reason = (getattr(diag, "message_primary", None) or str(exc.orig)).splitlines()[0][:200]
        message = f"a value cannot be stored: {reason}"
        return JSONResponse(error_body("invalid_request", message, _request_id(request)), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "http_error"
        )
        return JSONResponse(
            error_body(code, str(exc.detail), _request_id(request)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        rid = _request_id(request)
        log.exception("unhandled error (request %s)", rid)
        return JSONResponse(error_body("internal_error", "internal server error", rid), status_code=500)
