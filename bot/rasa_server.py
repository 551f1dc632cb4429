"""Rasa's command line with a token on every route, one speed fix and kefu's action timeout, for
`rasa run` in .venv-rasa:
`python -m bot.rasa_server run …`.

Token: `rasa run` refuses to start without RASA_TOKEN, and every request (the REST channel's webhook included,
which Rasa's own `--auth-token` leaves open) must carry `Authorization: Bearer $RASA_TOKEN` or Rasa's
`?token=`; otherwise 401. crm_bridge sends the header (crm_bridge/rasa_client.py).

Rasa 3.6 checks every reply of the action server with `jsonschema.validate`, which first validates
Rasa's response schema itself against the JSON Schema meta-schema, on every call: 22 ms per custom action
on a slow 2-core machine, 70 % of the Rasa server's time in a scripted conversation. The fix builds the
validator once and checks each reply with it: the same schema, the same errors, the same message.
Installing it imports Rasa's action module (and TensorFlow) before Rasa's CLI starts, so even
`--help` takes a few seconds; nothing else about the command line changes.
"""

from __future__ import annotations

import hmac
import os
import sys
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _response_validator() -> Any:
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)  # once, not per reply
    return cls(schema)


def validate_action_result(self: Any, result: dict[str, Any]) -> bool:
    """RemoteAction._validate_action_result with a validator built once (raises the same error)."""
    from jsonschema import exceptions
    from rasa.shared.constants import DOCS_BASE_URL

    error = exceptions.best_match(_response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        ". Failed to validate Action server response from API, make sure your response from the Action "
        f"endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
    )
    raise error


def presented_token(authorization: str | None, query_token: str | None) -> str:
    """The token a request carries: a Bearer header, else Rasa's `?token=` (empty when neither)."""
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return query_token or ""


def token_accepted(expected: str, authorization: str | None, query_token: str | None) -> bool:
    """Whether a request's token is `expected` (constant-time; never with an empty expected token)."""
    given = presented_token(authorization, query_token)
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def require_token(app: Any, expected: str) -> None:
    """Answer 401 to every request of `app` (a Sanic app) that does not carry `expected`."""
    from sanic import response

    async def check(request: Any) -> Any:
        if not token_accepted(expected, request.headers.get("authorization"), request.args.get("token")):
            return response.json({"error": "unauthorized", "message": "missing or wrong Rasa token"}, 401)
        return None

    app.register_middleware(check, "request")


def install_token(expected: str) -> None:
    """Make `rasa run` build its app with `require_token` (Rasa creates the app in rasa.core.run)."""
    import rasa.core.run as run

    configure_app = run.configure_app

    def configured(*args: Any, **kwargs: Any) -> Any:
        app = configure_app(*args, **kwargs)
        require_token(app, expected)
        return app

    run.configure_app = configured


DEFAULT_ACTION_TIMEOUT_S = 10.0


def action_timeout() -> float:
    """KEFU_ACTION_TIMEOUT (seconds Rasa waits for the action server), 10 by default."""
    raw = os.environ.get("KEFU_ACTION_TIMEOUT", "").strip()
    try:
        value = float(raw) if raw else DEFAULT_ACTION_TIMEOUT_S
    except ValueError:
        sys.exit(f"KEFU_ACTION_TIMEOUT={raw!r} is not a number of seconds")
    if value <= 0:
        sys.exit("KEFU_ACTION_TIMEOUT must be above 0")
    return value


def install() -> None:
    """Replaces Rasa's per-call schema check (see the module docstring) and its 5-minute wait for the
    action server with KEFU_ACTION_TIMEOUT: crm_bridge gives up on Rasa after KEFU_RASA_TIMEOUT (which its
    settings keep longer) and retries the turn, so Rasa must have given up on the action first; else the
    late action's events would land in the tracker after the retry."""
    import rasa.core.actions.action as action
    from rasa.core.actions.action import RemoteAction

    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
    action.DEFAULT_REQUEST_TIMEOUT = action_timeout()


def main() -> None:
    """`rasa …` with the token check, log redaction and the fix installed."""
    from kefu_core.logs import install_redaction

    install_redaction()  # Rasa logs customers' messages at DEBUG
    if sys.argv[1:2] == ["run"]:
        token = os.environ.get("RASA_TOKEN", "").strip()
        if not token:
            sys.exit(
                "RASA_TOKEN is not set: Rasa would answer anyone who reaches its port (kefu run sets one)"
            )
        install_token(token)
    install()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
