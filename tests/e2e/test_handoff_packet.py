"""With the real Rasa and action servers: the bot answers, the customer asks for a human, the turn
reports `queued`, and the packet's summary (read from Rasa's tracker) names the intents and the FAQ
answer already given."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy.orm import Session

from crm_bridge.users import service as users
from crm_bridge.users.models import Role
from kefu.stack import Stack
from kefu_core.db import make_engine

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def test_packet_summary_from_the_real_tracker(stack: Stack, api: httpx.Client, e2e_db_url: str) -> None:
    engine = make_engine(e2e_db_url)
    name = f"agent-{uuid.uuid4().hex[:6]}"
    with Session(engine) as session:
        users.create(
            session, username=name, password="packet test pw", role=Role.agent, languages=["en", "zh"]
        )
        session.commit()
    engine.dispose()
    token = api.post("/api/v1/auth/token", data={"username": name, "password": "packet test pw"}).json()
    agent = {"Authorization": f"Bearer {token['access_token']}"}
    assert api.post("/api/v1/agent/status", json={"online": True}, headers=agent).status_code == 200

    user = f"pk-{uuid.uuid4().hex[:6]}"
    faq = api.post("/api/v1/chat", json={"user_id": user, "text": "How long does delivery take?"}).json()
    assert faq["status"] == "bot" and faq["messages"]
    human = api.post("/api/v1/chat", json={"user_id": user, "text": "I want to talk to a real person"}).json()
    # The action escalated during this very turn: the response already reports the new owner.
    assert human["status"] == "queued", human
    cid = human["conversation_id"]
    assert api.post(f"/api/v1/agent/conversations/{cid}/accept", headers=agent).status_code == 200
    packet = api.get(f"/api/v1/agent/conversations/{cid}/packet", headers=agent).json()
    summary = packet["summary"]
    assert summary["tracker_available"] is True
    assert "request_human" in summary["intents"]
    assert summary["reason"] == "customer_request"
    assert any(faq["messages"][0]["text"] == answer for answer in summary["faq_answers"]), summary
    roles = [m["role"] for m in packet["transcript"]]
    assert roles[0] == "customer" and "bot" in roles
