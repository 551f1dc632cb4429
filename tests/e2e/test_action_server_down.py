"""With the action server down, the real Rasa answers 503 and saves nothing for the message (bot/
rasa_server.py), instead of 200 with no reply and a tracker that swallowed it: crm_bridge can then retry
the turn (another replica, or "temporarily unavailable" and a human). Before, the cluster test found
customers left without an answer while an action server restarted."""

from __future__ import annotations

import time
import uuid

import httpx

from kefu.stack import Service, Stack


def _actions(stack: Stack) -> Service:
    return next(service for service in stack.services if service.name == "actions")


def test_an_unreachable_action_server_fails_the_message_whole(stack: Stack) -> None:
    auth = {"Authorization": f"Bearer {stack.rasa_token}"}
    sender = f"down-{uuid.uuid4().hex[:8]}"
    webhook = f"{stack.rasa_url}/webhooks/rest/webhook"
    actions = _actions(stack)
    actions.stop()
    try:
        # An FAQ question: Rasa runs the custom action action_answer_faq.
        down = httpx.post(
            webhook,
            json={"sender": sender, "message": "How long does delivery take?"},
            headers=auth,
            timeout=60,
        )
        assert down.status_code == 503, down.text
        tracker = httpx.get(f"{stack.rasa_url}/conversations/{sender}/tracker", headers=auth, timeout=10)
        assert tracker.status_code == 200
        said = [e.get("text") for e in tracker.json()["events"] if e.get("event") == "user"]
        assert "How long does delivery take?" not in said  # nothing half-saved: a retry starts clean
    finally:
        actions.start()
        deadline = time.monotonic() + 120
        while not actions.ready():
            assert time.monotonic() < deadline, "the action server did not come back"
            time.sleep(0.5)
    again = httpx.post(
        webhook, json={"sender": sender, "message": "How long does delivery take?"}, headers=auth, timeout=60
    )
    assert again.status_code == 200 and again.json(), again.text  # answered once it is back
