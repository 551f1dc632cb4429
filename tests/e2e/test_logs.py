"""Personal data stays out of the logs (issue 22, item 9): a conversation full of it, all at DEBUG."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx

from kefu.stack import Stack
from tests.e2e.test_flows import TICKET, Customer


def test_a_conversation_full_of_personal_data_leaves_none_in_any_log(stack: Stack, api: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:6]
    email = f"li.na.{tag}@example.com"
    phone_digits = f"1391{int(tag, 16) % 10_000_000:07d}"
    phone_typed = f"{phone_digits[:3]} {phone_digits[3:7]} {phone_digits[7:]}"
    customer = Customer(api, "logs")
    customer.say("hi, I want to open a ticket")
    customer.say(f"My parcel never came, write to {email} or call {phone_typed}")
    customer.say(email)
    number = TICKET.findall(customer.say("no"))[0]
    customer.say(f"please update my phone to {phone_typed}")
    customer.say("yes")
    api.post(
        "/api/v1/chat", params={"q": f"refund to {email}"}, json={"user_id": customer.user_id, "text": "ok"}
    )
    # What the customer said reached the bot and the database: the logs are the only place it must not be.
    assert number.startswith("T-")

    logs = sorted(Path(stack.var, "logs").glob("*.log"))
    assert {p.stem for p in logs} >= {"rasa", "actions", "crm_bridge"}
    text = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in logs)
    assert "DEBUG" in text  # the processes did log at DEBUG, so the check below means something
    # The access log has the request, without its query string.
    assert re.search(r"kefu\.access: POST /api/v1/chat status=200 took=[0-9.]+ms id=\w+\n", text)
    for secret in (email, email.split("@")[0], phone_digits, phone_typed, f"+86{phone_digits}"):
        assert secret not in text, secret
    assert "refund to" not in text
