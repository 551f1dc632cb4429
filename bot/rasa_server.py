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

Failures: when handling a message raises, or the action server cannot be reached (or answers 5xx, or
times out), the REST webhook answers 503 and the tracker keeps nothing of the message (Rasa itself would
carry on without the action and answer 200 with no reply), so crm_bridge retries the turn.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import sys
from contextvars import ContextVar
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


# Set when handling a REST message raised: Rasa's REST channel logs the error and answers 200 with
# whatever was collected (often nothing), which a caller cannot tell from a silent bot. The tracker or
# lock store away (a Redis restart, a database failover) must read as a failure so crm_bridge fails
# over to another replica or retries the turn (docs/decisions/0019-rasa-replicas.md).
_FAILED: ContextVar[bool] = ContextVar("kefu_rest_failed", default=False)


class ActionServerDown(BaseException):
    """The action server could not be reached or failed (5xx, timeout). A BaseException on purpose: Rasa's
    processor catches every Exception of an action and carries on without it, saving a tracker whose
    message got no answer; this one ends the handling before the tracker is saved, so the webhook
    answers 503 and crm_bridge retries the turn (on another replica when there is one)."""


def _unreachable(exc: BaseException) -> bool:
    """True when a custom action failed for the action server's sake, not for what it answered."""
    import aiohttp

    cause = exc.__cause__ or exc.__context__
    if isinstance(exc, asyncio.TimeoutError) or isinstance(cause, aiohttp.ClientConnectionError):
        return True
    status = getattr(cause, "status", None)
    return isinstance(status, int) and status >= 500


def install_action_failure() -> None:
    """Turn an unreachable or failing action server into ActionServerDown (see its docstring)."""
    from rasa.core.actions.action import RemoteAction

    original = RemoteAction.run

    async def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await original(self, *args, **kwargs)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if _unreachable(exc):
                raise ActionServerDown(self.name()) from exc
            raise

    RemoteAction.run = run  # type: ignore[method-assign]


def install_failure_status() -> None:
    """Make the REST webhook answer 503 when handling the message raised (instead of 200 with nothing)."""
    import rasa.core.run as run
    from rasa.core.agent import Agent
    from sanic import response

    original = Agent.handle_message

    async def handle_message(self: Any, message: Any) -> Any:
        try:
            return await original(self, message)
        except asyncio.CancelledError:
            raise
        except ActionServerDown:  # the tracker was not saved: crm_bridge may send the message again
            _FAILED.set(True)
            return None
        except Exception:
            _FAILED.set(True)  # read by the response middleware of the same request (same task)
            raise

    Agent.handle_message = handle_message

    async def reset(request: Any) -> None:
        _FAILED.set(False)  # a keep-alive connection serves several requests in one task

    async def failed(request: Any, answer: Any) -> Any:
        if _FAILED.get():
            _FAILED.set(False)
            return response.json({"error": "unavailable", "message": "the message could not be handled"}, 503)
        return None

    configure_app = run.configure_app

    def configured(*args: Any, **kwargs: Any) -> Any:
        app = configure_app(*args, **kwargs)
        app.register_middleware(reset, "request")
        app.register_middleware(failed, "response")
        return app

    run.configure_app = configured


def lock_store_defaults() -> None:
    """bot/endpoints.yml's lock store variables, defaulted: Rasa's in-memory lock store (one replica, no
    Redis) unless RASA_LOCK_STORE_TYPE=redis; Rasa refuses an endpoints file naming an unset variable."""
    if not os.environ.get("RASA_LOCK_STORE_TYPE", "").strip():
        os.environ["RASA_LOCK_STORE_TYPE"] = "in_memory"
    for name, default in (
        ("RASA_LOCK_STORE_HOST", "127.0.0.1"),
        ("RASA_LOCK_STORE_PORT", "6379"),
        ("RASA_LOCK_STORE_DB", "1"),
        ("RASA_LOCK_STORE_PASSWORD", ""),
    ):
        if not os.environ.get(name, "").strip():
            os.environ[name] = default


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
        install_failure_status()
        install_action_failure()
    lock_store_defaults()
    install()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
