"""bot.rasa_server: Rasa's check of action-server replies, with the validator built once."""

from __future__ import annotations

import json
import subprocess

from kefu.model import RASA_BIN, rasa_env
from kefu_core.paths import ROOT

SCRIPT = """
import json
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from bot import rasa_server

original = RemoteAction._validate_action_result
replies = [
    {"events": [{"event": "slot", "name": "email", "value": "a@b.c"}], "responses": [{"text": "hi"}]},
    {"events": [], "responses": []},
    {},
    {"events": "not a list"},
    {"events": [{"no_event_key": 1}]},
    {"responses": "not a list"},
    # several errors each: the one Rasa reports is jsonschema's best match, not the first found
    {"events": [{"event": "bogus", "timestamp": "x"}]},
    {"events": [{"event": "slot"}], "responses": [1]},
]

def outcome(check, reply):
    try:
        return ["ok", check(RemoteAction("action_x", None), reply)]
    except ValidationError as error:
        return ["error", error.message]

import rasa.core.actions.action as action
before = [outcome(original, reply) for reply in replies]
timeout_before = action.DEFAULT_REQUEST_TIMEOUT
rasa_server.install()
after = [outcome(RemoteAction._validate_action_result, reply) for reply in replies]
patched = RemoteAction._validate_action_result is not original
print(json.dumps({"before": before, "after": after, "patched": patched,
                  "timeout": [timeout_before, action.DEFAULT_REQUEST_TIMEOUT]}))
"""


def test_action_replies_are_checked_as_rasa_does() -> None:
    """Valid replies pass and invalid ones raise Rasa's own error message, before and after install()."""
    result = subprocess.run(
        [str(RASA_BIN.parent / "python"), "-c", SCRIPT],
        cwd=ROOT, env={**rasa_env(), "KEFU_ACTION_TIMEOUT": "7"}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["patched"]
    # Rasa's 5-minute wait for the action server becomes KEFU_ACTION_TIMEOUT (crm_bridge outwaits it).
    assert out["timeout"] == [300, 7.0]
    assert out["after"] == out["before"]
    kinds = [kind for kind, _ in out["after"]]
    assert kinds == ["ok", "ok", "ok", "error", "error", "error", "error", "error"]
    errors = [text for kind, text in out["after"] if kind == "error"]
    assert all("Failed to validate Action server response" in text for text in errors)


def test_the_token_check_accepts_only_the_exact_token_as_bearer_or_query() -> None:
    from bot.rasa_server import token_accepted

    assert token_accepted("s3cret", "Bearer s3cret", None)
    assert token_accepted("s3cret", "bearer s3cret", None)
    assert token_accepted("s3cret", None, "s3cret")  # Rasa's own ?token= convention
    for header, query in [(None, None), ("Bearer wrong", None), ("Basic s3cret", None), ("s3cret", None),
                          ("Bearer s3cre", None), (None, "s3cret2"), ("Bearer ", "")]:  # fmt: skip
        assert not token_accepted("s3cret", header, query), (header, query)
    assert not token_accepted("", "Bearer ", "")  # no expected token: nothing is accepted


def test_rasa_run_refuses_to_start_without_a_token() -> None:
    env = {k: v for k, v in rasa_env().items() if k != "RASA_TOKEN"}
    done = subprocess.run(
        [str(RASA_BIN.parent / "python"), "-m", "bot.rasa_server", "run", "--enable-api"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode != 0 and "RASA_TOKEN is not set" in done.stderr
