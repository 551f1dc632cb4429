"""Several Rasa replicas (RASA_URLS): a conversation keeps its replica while it is healthy, fails over
to a live one when it is killed or errors, and comes back when it returns; through the turn queue too."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.conversations.models import Message
from crm_bridge.rasa_client import RasaClient, RasaUnavailable, rendezvous, replica_urls
from crm_bridge.turns import service as turns
from crm_bridge.turns.models import Turn, TurnStatus
from crm_bridge.turns.tasks import process_conversation
from kefu_core.settings import Settings
from tests.fakes.rasa_server import FakeRasa
from tests.helpers import kefu_env

BACKOFF_S = 0.4


class Replica(FakeRasa):
    """A fake Rasa that can be killed (its port closed) and brought back on the same port."""

    def __init__(self, delay_s: float = 0.0) -> None:
        super().__init__(delay_s)
        self.alive = False

    def start(self) -> Replica:
        """Serve (again, after kill) on the same port."""
        if self._thread.ident is not None:  # killed before: a new server on the old port
            self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
            self._server.daemon_threads = True
            self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        super().start()
        self.alive = True
        return self

    def kill(self) -> None:
        """Close the port: connections are refused, as with a SIGKILLed Rasa."""
        if self.alive:
            self.stop()
            self.alive = False

    def senders(self) -> set[str]:
        """Every sender this replica received a message from."""
        with self.lock:
            return {sender for sender, _ in self.calls}


@pytest.fixture
def replicas() -> Iterator[list[Replica]]:
    """Three live fake replicas."""
    fakes = [Replica().start() for _ in range(3)]
    yield fakes
    for fake in fakes:
        fake.kill()


def _client(replicas: list[Replica], timeout_s: float = 2.0) -> RasaClient:
    return RasaClient(",".join(r.url for r in replicas), timeout_s=timeout_s, backoff_s=BACKOFF_S, token="t")


def _owner(replicas: list[Replica], sender: str) -> Replica:
    first = rendezvous([r.url for r in replicas], sender)[0]
    return next(r for r in replicas if r.url == first)


def test_the_list_is_parsed_and_the_single_url_stays_the_default() -> None:
    assert replica_urls(" http://a:1/ , http://b:2,,http://a:1") == ["http://a:1", "http://b:2"]
    with pytest.raises(ValueError):
        replica_urls(" , ")
    assert Settings(RASA_URL="http://one:5005").rasa_replicas == ["http://one:5005"]
    both = Settings(RASA_URL="http://one:5005", RASA_URLS="http://r1:5005, http://r2:5005")
    assert both.rasa_replicas == ["http://r1:5005", "http://r2:5005"]


def test_rendezvous_is_stable_spread_and_moves_only_the_removed_replicas_keys() -> None:
    urls = ["http://r1", "http://r2", "http://r3"]
    keys = [uuid.uuid4().hex for _ in range(600)]
    first = {key: rendezvous(urls, key)[0] for key in keys}
    assert first == {key: rendezvous(list(reversed(urls)), key)[0] for key in keys}  # order-independent
    counts = {url: sum(1 for owner in first.values() if owner == url) for url in urls}
    assert all(120 < count < 280 for count in counts.values()), counts
    without = {key: rendezvous(urls[:2], key)[0] for key in keys}
    moved = [key for key in keys if without[key] != first[key]]
    assert moved and all(first[key] == "http://r3" for key in moved)


def test_each_conversation_keeps_one_replica(replicas: list[Replica]) -> None:
    client = _client(replicas)
    senders = [f"conv-{uuid.uuid4().hex[:10]}" for _ in range(30)]
    try:
        for round_ in range(3):
            for sender in senders:
                replies = client.send(sender=sender, text=f"turn {round_}", metadata={})
                assert [r.text for r in replies] == [f"echo: turn {round_}"]
    finally:
        client.close()
    for sender in senders:
        holders = [r for r in replicas if sender in r.senders()]
        assert holders == [_owner(replicas, sender)]
        assert holders[0].messages(sender) == ["turn 0", "turn 1", "turn 2"]
    assert all(r.senders() for r in replicas)  # the conversations are spread over every replica


def test_a_killed_replica_fails_over_and_its_conversations_come_back_when_it_returns(
    replicas: list[Replica],
) -> None:
    client = _client(replicas)
    sender = f"conv-{uuid.uuid4().hex[:10]}"
    home = _owner(replicas, sender)
    try:
        assert client.send(sender=sender, text="before", metadata={})[0].text == "echo: before"
        home.kill()
        assert client.send(sender=sender, text="during", metadata={})[0].text == "echo: during"
        assert not client.healthy(home.url)
        standby = next(r for r in replicas if r is not home and sender in r.senders())
        # Within the backoff the dead replica is not tried first: the message goes straight to the standby.
        started = time.monotonic()
        client.send(sender=sender, text="during again", metadata={})
        assert standby.messages(sender) == ["during", "during again"]
        home.start()
        time.sleep(BACKOFF_S + 0.1)
        client.send(sender=sender, text="after", metadata={})
        assert time.monotonic() - started < 5
    finally:
        client.close()
    assert home.messages(sender) == ["before", "after"]
    assert client.healthy(home.url)
    # Every message reached exactly one replica, in order, none twice.
    delivered = [m for r in replicas for m in r.messages(sender)]
    assert sorted(delivered) == sorted(["before", "during", "during again", "after"])


def test_a_replica_answering_5xx_fails_over(replicas: list[Replica]) -> None:
    client = _client(replicas)
    sender = f"conv-{uuid.uuid4().hex[:10]}"
    home = _owner(replicas, sender)
    home.down = True  # 503, as a proxy in front of a dead Rasa answers
    try:
        assert client.send(sender=sender, text="hello", metadata={})[0].text == "echo: hello"
    finally:
        client.close()
    assert home.messages(sender) == []
    assert sum(len(r.messages(sender)) for r in replicas) == 1
    assert not client.healthy(home.url)


def test_every_replica_down_is_unavailable_and_names_each(replicas: list[Replica]) -> None:
    client = _client(replicas)
    for replica in replicas:
        replica.kill()
    try:
        with pytest.raises(RasaUnavailable) as raised:
            client.send(sender="anyone", text="hi", metadata={})
        with pytest.raises(RasaUnavailable):  # all in backoff: still tried rather than refused
            client.send(sender="anyone", text="hi", metadata={})
        assert client.active_loop("anyone") is None
        with pytest.raises(httpx.HTTPError):
            client.ping()
    finally:
        client.close()
    assert all(r.url in str(raised.value) for r in replicas)


def test_a_slow_replica_is_not_sent_the_message_twice_at_once() -> None:
    """A timeout may mean the replica is still answering: raised (the turn retries later) rather than
    resent at once, and the next try goes to another replica."""
    slow, fast = Replica(delay_s=1.5).start(), Replica().start()
    pair = [slow, fast]
    client = _client(pair, timeout_s=0.5)
    sender = next(s for s in (f"c-{i}" for i in range(100)) if _owner(pair, s) is slow)
    try:
        with pytest.raises(RasaUnavailable):
            client.send(sender=sender, text="one", metadata={})
        assert fast.messages(sender) == []
        assert client.send(sender=sender, text="one", metadata={})[0].text == "echo: one"
        assert fast.messages(sender) == ["one"]
    finally:
        client.close()
        slow.kill()
        fast.kill()


def test_ping_answers_while_one_replica_lives(replicas: list[Replica]) -> None:
    client = _client(replicas)
    replicas[0].kill()
    try:
        status = client.ping()
    finally:
        client.close()
    assert status["model_file"] == "fake.tar.gz"
    assert status["replicas"] == {replicas[0].url: False, replicas[1].url: True, replicas[2].url: True}


def _said(session: Session, conversation_id: str) -> list[tuple[str, str]]:
    session.expire_all()
    stmt = select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
    return [(m.role.value, m.text) for m in session.scalars(stmt)]


def test_queued_turns_fail_over_when_a_replica_is_killed(
    session: Session, db_url: str, replicas: list[Replica]
) -> None:
    """Through the turn job: conversations whose replica was killed are answered by another, once each,
    in order, on the first attempt (no retry delay spent)."""
    with kefu_env(
        DATABASE_URL=db_url,
        RASA_URLS=",".join(r.url for r in replicas),
        KEFU_RASA_TIMEOUT="2",
        KEFU_TURN_ATTEMPTS="3",
        KEFU_TURN_RETRY_DELAY="0.5",
    ):
        victim = replicas[1]
        received = []
        for n in range(12):
            user = f"replica-{uuid.uuid4().hex[:8]}"
            first = turns.receive(session, _inbound(user, f"first {n}"))
            process_conversation.call_local(first.conversation_id)
            received.append((user, first))
        victim.kill()
        for n, (user, first) in enumerate(received):
            turns.receive(session, _inbound(user, f"second {n}"))
            process_conversation.call_local(first.conversation_id)
        for n, (_, first) in enumerate(received):
            assert _said(session, first.conversation_id) == [
                ("customer", f"first {n}"),
                ("bot", f"echo: first {n}"),
                ("customer", f"second {n}"),
                ("bot", f"echo: second {n}"),
            ]
            states = session.scalars(select(Turn).where(Turn.conversation_id == first.conversation_id))
            assert [(t.status, t.attempts) for t in states] == [(TurnStatus.done, 1), (TurnStatus.done, 1)]
    moved = [n for n, (_, first) in enumerate(received) if _owner(replicas, first.conversation_id) is victim]
    assert moved, "no conversation preferred the killed replica: pick more conversations"
    for n in moved:
        conversation_id = received[n][1].conversation_id
        assert victim.messages(conversation_id) == [f"first {n}"]
        others = [m for r in replicas if r is not victim for m in r.messages(conversation_id)]
        assert others == [f"second {n}"]


def _inbound(user: str, text: str) -> turns.Inbound:
    return turns.Inbound(channel="test", user_id=user, platform_id=uuid.uuid4().hex, text=text)
