"""The action server: rasa_sdk's, refusing requests without ACTION_SERVER_TOKEN (`python -m actions.server`).

Rasa sends the token as `Authorization: Bearer …` (bot/endpoints.yml). `/health` stays open for readiness
checks; it says nothing about conversations. The server binds to SANIC_HOST (kefu run sets 127.0.0.1).
"""

from __future__ import annotations

import hmac
import os
import sys
from functools import partial
from typing import Any

from rasa_sdk import endpoint, utils
from rasa_sdk.cli.arguments import add_endpoint_arguments
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic, response
from sanic.request import Request
from sanic.worker.loader import AppLoader

from kefu_core.logs import configure as configure_logging
from kefu_core.logs import install_redaction

OPEN_PATHS = frozenset({"/health"})


def accepted(expected: str, authorization: str | None) -> bool:
    """Whether an Authorization header carries `expected` as a Bearer token (constant-time)."""
    scheme, _, value = (authorization or "").partition(" ")
    given = value.strip() if scheme.lower() == "bearer" else ""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def create_app(action_executor: ActionExecutor, *, token: str, **kwargs: Any) -> Sanic:
    """rasa_sdk's app with the token check in front of every route but /health (and logs redacted)."""
    install_redaction()  # here: Sanic builds the app again in its worker process
    app = endpoint.create_app_for_serve(action_executor, **kwargs)
    if os.environ.get("KEFU_LOG_FORMAT", "").strip().lower() == "json":
        # After Sanic set up its loggers: their records join ours as one JSON object per line.
        configure_logging(os.environ.get("KEFU_LOG_LEVEL", "INFO").strip() or "INFO", "json")

    async def check(request: Request) -> Any:
        if request.path not in OPEN_PATHS and not accepted(token, request.headers.get("authorization")):
            return response.json(
                {"error": "unauthorized", "message": "missing or wrong action server token"}, 401
            )
        return None

    app.register_middleware(check, "request")
    return app


def main(argv: list[str] | None = None) -> None:
    """Parse rasa_sdk's own arguments and serve the actions behind the token."""
    import argparse

    token = os.environ.get("ACTION_SERVER_TOKEN", "").strip()
    if not token:
        sys.exit("ACTION_SERVER_TOKEN is not set: the actions would run for anyone (kefu run sets one)")
    parser = argparse.ArgumentParser(description="kefu's action server")
    add_endpoint_arguments(parser)
    args = parser.parse_args(argv)
    executor = ActionExecutor()
    executor.register_package(args.actions or args.actions_module or "actions")
    # The factory lives in this module so that Sanic's worker process rebuilds the app with the check.
    loader = AppLoader(
        factory=partial(create_app, executor, token=token, cors_origins=args.cors, auto_reload=False,
                        endpoints=args.endpoints)
    )  # fmt: skip
    app = loader.load()
    app.prepare(
        host=os.environ.get("SANIC_HOST", "127.0.0.1"),
        port=args.port,
        workers=utils.number_of_sanic_workers(),
    )
    Sanic.serve(primary=app, app_loader=loader)


if __name__ == "__main__":
    main()
