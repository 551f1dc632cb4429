"""Availability: the probe stores one row per minute (even with two workers), and the report's exact
rates, per part, with unknown minutes apart; on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from crm_bridge.health import check_parts
from crm_bridge.rasa_client import RasaClient
from crm_bridge.reports import availability, metrics, probe
from crm_bridge.reports.filters import ReportFilter
from crm_bridge.reports.models_probe import ServiceProbe
from kefu.stack import free_port
from kefu_core.db import make_engine
from kefu_core.targets import ServiceTargets
from tests.fakes.rasa_server import FakeRasa
from tests.helpers import kefu_env

ALL_OK = {name: {"ok": True} for name in probe.PARTS}


def _base() -> datetime:
    """A minute far from any other test's rows (the database is shared by the whole run)."""
    return datetime(random.randint(2100, 2900), random.randint(1, 12), 1, 0, 0, tzinfo=UTC)


@pytest.fixture
def make_session(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


@pytest.fixture(scope="module")
def bot() -> Iterator[FakeRasa]:
    fake = FakeRasa().start()
    yield fake
    fake.stop()


def _store(session: Session, minute: datetime, **down: bool) -> None:
    parts = {name: {"ok": not down.get(name, False)} for name in probe.PARTS}
    assert probe.store(session, minute=minute, parts=parts, checked_at=minute, duration_ms=5)


def test_rates_per_part_and_unknown_minutes(session: Session) -> None:
    base = _base()
    # 15 minutes; 10 probed: 7 healthy, 2 with Rasa down, 1 with Rasa and the knowledge base down.
    for i in range(7):
        _store(session, base + timedelta(minutes=i))
    for i in (7, 8):
        _store(session, base + timedelta(minutes=i), rasa=True)
    _store(session, base + timedelta(minutes=9), rasa=True, knowledge_base=True)
    _store(session, base + timedelta(minutes=15))  # just after the period: not counted
    session.commit()
    flt = ReportFilter(start=base, end=base + timedelta(minutes=15))

    result = availability.compute(session, flt, ServiceTargets(), now=base + timedelta(days=1))

    assert result == {
        "rate": 0.7,
        "target": 0.98,
        "met": False,
        "by_part": {"database": 1.0, "rasa": 0.7, "action_server": 1.0, "knowledge_base": 0.9},
        "probed_minutes": 10,
        "healthy_minutes": 7,
        "unknown_minutes": 5,
        "coverage": round(10 / 15, 6),
    }
    later = base + timedelta(days=1)
    assert availability.compute(session, flt, ServiceTargets(availability=0.7), now=later)["met"] is True
    # Minutes that have not happened yet are not unknown: "now" cuts the period.
    halfway = availability.compute(session, flt, ServiceTargets(), now=base + timedelta(minutes=12))
    assert (halfway["probed_minutes"], halfway["unknown_minutes"]) == (10, 2)


def test_series_and_drilldown(session: Session) -> None:
    base = _base()
    for i in range(4):  # hour 0: 3 of 4 healthy
        _store(session, base + timedelta(minutes=i), action_server=(i == 2))
    _store(session, base + timedelta(hours=1, minutes=5), database=True)  # hour 1: 0 of 1
    session.commit()
    flt = ReportFilter(start=base, end=base + timedelta(hours=3))
    with kefu_env(KEFU_TIMEZONE="UTC"):
        metric = metrics.get("availability")
        series = metric.series(session, flt, "hour")
        assert [value for _, value in series] == [0.75, 0.0, None]
        items, total = metric.drilldown(session, flt, 0, 2)
    assert total == 5
    assert [i["minute"] for i in items] == [
        (base + timedelta(hours=1, minutes=5)).isoformat(),
        (base + timedelta(minutes=2)).isoformat(),
    ]
    assert items[1]["parts"]["action_server"] is False and items[1]["value"] == 0


def test_empty_period_gives_nulls(session: Session) -> None:
    base = _base()
    flt = ReportFilter(start=base, end=base + timedelta(hours=1))
    past = availability.compute(session, flt, ServiceTargets(), now=base + timedelta(days=1))
    assert past["rate"] is None and past["met"] is None
    assert past["by_part"] == {name: None for name in probe.PARTS}
    assert (past["probed_minutes"], past["unknown_minutes"], past["coverage"]) == (0, 60, 0.0)
    future = availability.compute(session, flt, ServiceTargets(), now=base - timedelta(days=1))
    assert (future["unknown_minutes"], future["coverage"]) == (0, None)


def test_probe_stores_one_row_per_minute(make_session: sessionmaker[Session], bot: FakeRasa) -> None:
    now = _base() + timedelta(seconds=17)
    with kefu_env(ACTION_SERVER_URL=bot.url):
        rasa = RasaClient(bot.url, timeout_s=2)
        try:
            assert probe.probe_once(make_session, rasa, now=now) is True
            # Another worker's scheduler fires the same minute: nothing more is stored.
            assert probe.probe_once(make_session, rasa, now=now + timedelta(seconds=30)) is False
            bot.down = True
            assert probe.probe_once(make_session, rasa, now=now + timedelta(minutes=1)) is True
        finally:
            bot.down = False
            rasa.close()
    with make_session() as session:
        rows = session.scalars(
            select(ServiceProbe)
            .where(ServiceProbe.minute >= probe.minute_of(now))
            .order_by(ServiceProbe.minute)
        ).all()
        rows = [r for r in rows if r.minute < probe.minute_of(now) + timedelta(minutes=2)]
    assert [r.minute for r in rows] == [probe.minute_of(now), probe.minute_of(now) + timedelta(minutes=1)]
    assert [(r.healthy, r.database_ok, r.rasa_ok, r.action_server_ok, r.knowledge_base_ok) for r in rows] == [
        (True, True, True, True, True),
        (False, True, False, False, True),  # the fake serves both Rasa and the action server
    ]


def test_two_workers_racing_store_one_row(make_session: sessionmaker[Session]) -> None:
    minute = _base()
    outcome: dict[str, bool] = {}
    first = make_session()
    assert probe.store(first, minute=minute, parts=ALL_OK, checked_at=minute, duration_ms=1)

    def second_worker() -> None:
        with make_session() as other:  # waits on the first worker's uncommitted row, then loses
            outcome["stored"] = probe.store(
                other, minute=minute, parts=ALL_OK, checked_at=minute, duration_ms=2
            )
            other.commit()

    thread = threading.Thread(target=second_worker)
    thread.start()
    thread.join(0.5)
    first.commit()
    first.close()
    thread.join(30)
    assert outcome == {"stored": False}
    with make_session() as session:
        count = session.scalar(
            select(func.count()).select_from(ServiceProbe).where(ServiceProbe.minute == minute)
        )
        duration = session.scalar(select(ServiceProbe.duration_ms).where(ServiceProbe.minute == minute))
    assert (count, duration) == (1, 1)


def test_purge_keeps_recent_rows(session: Session) -> None:
    now = _base()
    _store(session, now - timedelta(days=11))
    _store(session, now - timedelta(days=9))
    session.commit()
    probe.purge(session, days=10, now=now)
    left = session.scalars(
        select(ServiceProbe.minute).where(
            ServiceProbe.minute >= now - timedelta(days=12), ServiceProbe.minute < now
        )
    ).all()
    assert left == [now - timedelta(days=9)]


def test_health_and_probe_share_the_part_checks(session: Session, bot: FakeRasa) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    with kefu_env(ACTION_SERVER_URL=closed):
        rasa = RasaClient(bot.url, timeout_s=2)
        try:
            parts = check_parts(session, rasa, indexed=lambda: 42)
        finally:
            rasa.close()
    assert list(parts) == list(probe.PARTS)
    assert parts["database"] == {"ok": True}
    assert parts["rasa"] == {"ok": True, "model": "fake.tar.gz"}
    assert parts["action_server"]["ok"] is False and "ConnectError" in parts["action_server"]["error"]
    assert parts["knowledge_base"]["ok"] is True and parts["knowledge_base"]["indexed"] == 42


def test_the_probe_runs_every_minute_and_purges_hourly() -> None:
    at = datetime(2030, 1, 1, 3, 7)
    assert probe.probe_task.task_class().validate_datetime(at)
    assert probe.probe_task.task_class().validate_datetime(at + timedelta(minutes=1))
    assert not probe.purge_task.task_class().validate_datetime(at)
    assert probe.purge_task.task_class().validate_datetime(at.replace(minute=23))
