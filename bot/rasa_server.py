"""Rasa's command line with one speed fix, for `rasa run` in .venv-rasa: `python -m bot.rasa_server run …`.

Rasa 3.6 checks every reply of the action server with `jsonschema.validate`, which first validates
Rasa's response schema itself against the JSON Schema meta-schema, on every call: 22 ms per custom action
on a slow 2-core machine, 70 % of the Rasa server's time in a scripted conversation. The fix builds the
validator once and checks each reply with it: the same schema, the same errors, the same message.
Installing it imports Rasa's action module (and TensorFlow) before Rasa's CLI starts, so even
`--help` takes a few seconds; nothing else about the command line changes.
"""

from __future__ import annotations

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


def install() -> None:
    """Replaces Rasa's per-call schema check (see the module docstring)."""
    from rasa.core.actions.action import RemoteAction

    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]


def main() -> None:
    """`rasa …` with the fix installed."""
    install()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
