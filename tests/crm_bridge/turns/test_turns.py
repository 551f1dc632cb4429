"""Queued turns on each database: stored once per platform message, answered once and in order, and
an unreachable bot retried with backoff, then the customer told and the conversation flagged."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from huey.exceptions import RetryTask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_bridge.conversations.models import Conversation, ConversationStatus, Message, MessageRole
from crm_bridge.escalation.models import Escalation
from crm_bridge.jobs import leases
from crm_bridge.jobs.queue import worker_name
from crm_bridge.turns import service as turns
from crm_bridge.turns.flows import AlreadyAnswered, answer
from crm_bridge.turns.models import Turn, TurnStatus
from crm_bridge.turns.tasks import _rasa, process_conversation
from kefu_core.db import utcnow
from tests.fakes.rasa_server import FakeRasa
from tests.helpers import kefu_env


@pytest.fixture
def rasa(db_url: str) -> Iterator[FakeRasa]:
    """A fake bot, and settings pointing the turn job at it and at the test database."""
    fake = FakeRasa().start()
    with kefu_env(
        DATABASE_URL=db_url,
        RASA_URL=fake.url,
        KEFU_RASA_TIMEOUT="2",
        KEFU_TURN_ATTEMPTS="3",
        KEFU_TURN_RETRY_DELAY="0.5",  # long enough that an early job finds the turn not due
    ):
        yield fake
    fake.stop()


def _inbound(user: str, text: str, platform_id: str | None = None) -> turns.Inbound:
    return turns.Inbound(channel="test", user_id=user, platform_id=platform_id or uuid.uuid4().hex, text=text)


def _said(session: Session, conversation_id: str) -> list[tuple[str, str]]:
    session.expire_all()
    stmt = select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
    return [(m.role.value, m.text) for m in session.scalars(stmt)]


def test_a_redelivered_message_is_stored_once(session: Session, rasa: FakeRasa) -> None:
    user = f"dup-{uuid.uuid4().hex[:8]}"
    first = turns.receive(session, _inbound(user, "hello there", "update-1"))
    again = turns.receive(session, _inbound(user, "hello there", "update-1"))
    assert not first.duplicate and again.duplicate
    assert (again.turn_id, again.message_id) == (first.turn_id, first.message_id)
    count = session.scalar(select(func.count()).select_from(Turn).where(Turn.platform_id == "update-1"))
    assert count == 1
    assert _said(session, first.conversation_id) == [("customer", "hello there")]


def test_the_same_id_on_another_channel_is_another_message(session: Session, rasa: FakeRasa) -> None:
    platform_id = uuid.uuid4().hex
    one = turns.receive(session, _inbound("someone", "hi", platform_id))
    other = turns.receive(
        session, turns.Inbound(channel="test2", user_id="someone", platform_id=platform_id, text="hi")
    )
    assert not other.duplicate and other.message_id != one.message_id


def test_a_turn_whose_job_runs_twice_is_answered_once(session: Session, rasa: FakeRasa) -> None:
    got = turns.receive(session, _inbound(f"twice-{uuid.uuid4().hex[:8]}", "where is my parcel"))
    process_conversation.call_local(got.conversation_id)
    process_conversation.call_local(got.conversation_id)
    assert _said(session, got.conversation_id) == [
        ("customer", "where is my parcel"),
        ("bot", "echo: where is my parcel"),
    ]
    assert rasa.messages(got.conversation_id) == ["where is my parcel"]
    turn = session.get(Turn, got.turn_id)
    assert turn is not None and turn.status is TurnStatus.done and turn.worker


def test_turns_are_answered_in_arrival_order(session: Session, rasa: FakeRasa) -> None:
    user = f"order-{uuid.uuid4().hex[:8]}"
    texts = [f"message number {i}" for i in range(6)]
    received = [turns.receive(session, _inbound(user, text)) for text in texts]
    conversation_id = received[0].conversation_id
    assert {r.conversation_id for r in received} == {conversation_id}
    process_conversation.call_local(conversation_id)  # one job answers every pending turn, oldest first
    said = _said(session, conversation_id)
    assert [text for role, text in said if role == "bot"] == [f"echo: {text}" for text in texts]
    assert rasa.messages(conversation_id) == texts


def test_a_job_waits_while_another_worker_holds_the_conversation(session: Session, rasa: FakeRasa) -> None:
    got = turns.receive(session, _inbound(f"lease-{uuid.uuid4().hex[:8]}", "hello"))
    key = f"turns:{got.conversation_id}"
    assert leases.acquire(session, key, owner="other-worker", seconds=60)
    process_conversation.call_local(got.conversation_id)  # returns: the holder will answer
    assert rasa.messages(got.conversation_id) == []
    leases.release(session, key, owner="other-worker")
    process_conversation.call_local(got.conversation_id)
    assert rasa.messages(got.conversation_id) == ["hello"]


def test_an_expired_lease_is_taken_over(session: Session, rasa: FakeRasa) -> None:
    key = f"test:{uuid.uuid4().hex}"
    assert leases.acquire(session, key, owner="killed-worker", seconds=-1)  # already run out
    assert leases.acquire(session, key, owner="me", seconds=60)
    assert not leases.acquire(session, key, owner="killed-worker", seconds=60)


def test_bot_down_retries_with_backoff_then_tells_and_flags(session: Session, rasa: FakeRasa) -> None:
    rasa.down = True
    user = f"down-{uuid.uuid4().hex[:8]}"
    first = turns.receive(session, _inbound(user, "is anyone there"))
    second = turns.receive(session, _inbound(user, "hello?"))
    cid = first.conversation_id
    delays = []
    for _ in range(2):  # KEFU_TURN_ATTEMPTS=3: two retries, each later than the one before
        with pytest.raises(RetryTask) as retry:
            process_conversation.call_local(cid)
        delays.append(retry.value.delay)
        # The second turn is not answered before the first: a job arriving early does nothing.
        process_conversation.call_local(cid)
        assert _said(session, cid) == [("customer", "is anyone there"), ("customer", "hello?")]
        time.sleep(retry.value.delay)
    assert delays[1] > delays[0] > 0
    with pytest.raises(RetryTask):  # the first turn gives up; the second starts its own attempts
        process_conversation.call_local(cid)
    said = _said(session, cid)
    assert said[:3] == [
        ("customer", "is anyone there"),
        ("customer", "hello?"),
        ("system", said[2][1]),
    ]
    assert "temporarily unavailable" in said[2][1]
    turn = session.get(Turn, first.turn_id)
    assert turn is not None and (turn.status, turn.attempts) == (TurnStatus.unavailable, 3)
    # Flagged to agents: with nobody online that is a ticket with the transcript (or the queue).
    escalation = session.scalars(select(Escalation).where(Escalation.conversation_id == cid)).one()
    if escalation.outcome == "offline":
        assert escalation.ticket_id is not None
    else:
        assert escalation.outcome == "queued" and "assistant unavailable" in (escalation.note or "")
    pending = session.get(Turn, second.turn_id)
    assert pending is not None and pending.status is TurnStatus.pending and pending.attempts == 1
    rasa.down = False  # back: the second turn is answered on its retry
    time.sleep(max((pending.next_attempt_at - utcnow()).total_seconds(), 0) + 0.05)
    process_conversation.call_local(cid)
    conversation = session.get(Conversation, cid)
    assert conversation is not None
    if conversation.status is ConversationStatus.bot:
        assert _said(session, cid)[-1] == ("bot", "echo: hello?")
    assert session.get(Turn, second.turn_id).status is TurnStatus.done  # type: ignore[union-attr]
    assert MessageRole.system.value == "system"


def test_a_worker_whose_lease_ran_out_does_not_answer_twice(session: Session, rasa: FakeRasa) -> None:
    got = turns.receive(session, _inbound(f"slow-{uuid.uuid4().hex[:8]}", "my order is late"))
    slow_worker_turn = turns.next_pending(session, got.conversation_id)  # the slow worker read it...
    assert slow_worker_turn is not None
    process_conversation.call_local(got.conversation_id)  # ...another took over and answered
    with pytest.raises(AlreadyAnswered):
        answer(session, _rasa(rasa.url, 2.0), slow_worker_turn, worker="slow")
    session.rollback()
    said = _said(session, got.conversation_id)
    assert said == [("customer", "my order is late"), ("bot", "echo: my order is late")]
    assert len(rasa.messages(got.conversation_id)) == 2  # the bot was asked twice; the reply kept once


def test_two_threads_with_the_same_name_are_different_lease_owners() -> None:
    # Two consumers in one process (two apps in a test run) both have a thread called "Worker-1"; sharing an
    # owner name let one renew and release the other's lease (the twenty-messages test lost its order).
    names: list[str] = []
    threads = [
        threading.Thread(target=lambda: names.append(worker_name()), name="Worker-1") for _ in range(2)
    ]
    for thread in threads:
        thread.start()
        thread.join()
    assert len(set(names)) == 2
