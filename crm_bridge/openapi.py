"""OpenAPI document that describes kefu's real error shape (not FastAPI's default `detail` one)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "request_id"],
            "properties": {
                "code": {"type": "string", "examples": ["invalid_request"]},
                "message": {"type": "string"},
                "request_id": {"type": "string"},
                "details": {},
            },
        }
    },
}
ERRORS = {
    "401": "Not authenticated",
    "403": "Authenticated, but the role may not do this",
    "404": "Not found",
    "409": "Conflicts with the current state",
    "422": "Invalid request",
    "500": "Unexpected error (logged with the request id)",
}


def install_openapi(app: FastAPI) -> None:
    """Replace the generated document's error responses with the one error shape."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        schemas["Error"] = ERROR_SCHEMA
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        for path_item in doc.get("paths", {}).values():
            for operation in path_item.values():
                responses = operation.setdefault("responses", {})
                for status, text in ERRORS.items():
                    responses[status] = {"description": text, "content": ref}
        app.openapi_schema = doc
        return doc

    app.openapi = build  # type: ignore[method-assign]
