"""`kefu reports summary` (table and --json) and `kefu reports rebuild` on the known history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from crm_bridge.reports import pending
from crm_bridge.reports.models import ConversationFacts
from kefu.bootstrap import prepare_database
from kefu.cli import main
from kefu_core.db import make_engine
from tests.crm_bridge.reports.history import ENV, FROM, TO, build
from tests.helpers import kefu_env


def test_summary_json_and_table(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    with kefu_env(DATABASE_URL=db_url, **ENV):
        history = build(db_url)
        assert main(["reports", "summary", "--from", FROM, "--to", TO, "--tag", history.tag, "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["kpis"]["fcr"]["rate"] == 0.3333
        assert out["volume"]["conversations"] == 6
        assert main(["reports", "summary", "--from", FROM, "--to", TO, "--tag", history.tag]) == 0
        table = capsys.readouterr().out
    assert "first contact     33.3 % (target 95.0 %) MISSED" in table
    assert "conversations     6 (8 customer messages)" in table


def test_bad_period_is_an_error(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    with kefu_env(DATABASE_URL=db_url, **ENV):
        assert main(["reports", "summary", "--from", "2024-03-10", "--to", "2024-03-01"]) == 2
    assert "from: must be before to" in capsys.readouterr().err


def test_rebuild_restores_lost_facts(
    db_url: str, session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    with kefu_env(DATABASE_URL=db_url, **ENV):
        history = build(db_url)
        c6 = history.conversations["c6"]
        session.execute(delete(ConversationFacts).where(ConversationFacts.conversation_id == c6))
        session.commit()
        assert main(["reports", "rebuild"]) == 0
    assert "rebuilt the report rollup of" in capsys.readouterr().out
    session.expire_all()
    row = session.scalars(select(ConversationFacts).where(ConversationFacts.conversation_id == c6)).one()
    assert (row.first_response_s, row.full_resolution_s, row.agent_replies) == (60.0, 1200.0, 1)


def test_an_upgraded_database_gets_its_rollup_at_start(tmp_path: Path) -> None:
    """A database that had conversations before migration 0017 has an empty rollup: `kefu run` (and
    `kefu db upgrade`) build it once, then leave it alone."""
    url = f"sqlite:///{tmp_path / 'upgraded.db'}"
    with kefu_env(DATABASE_URL=url, **ENV):
        assert prepare_database(url, seed=False).facts_rebuilt is None  # nothing to build
        history = build(url)
        engine = make_engine(url)
        try:
            with Session(engine) as session:
                pending.apply(session)  # the history's marks applied, as a report would
                total = session.scalar(select(func.count()).select_from(ConversationFacts))
                session.execute(delete(ConversationFacts))  # as before 0017 existed
                session.commit()
            assert prepare_database(url, seed=False).facts_rebuilt == total == len(history.conversations)
            assert prepare_database(url, seed=False).facts_rebuilt is None  # already there
            with Session(engine) as session:
                assert session.scalar(select(func.count()).select_from(ConversationFacts)) == total
        finally:
            engine.dispose()
