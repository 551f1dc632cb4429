"""The index follows writes made elsewhere (another worker, the CLI); `kefu kb import|export`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from kefu.bootstrap import prepare_database
from kefu_core.db import make_engine
from knowledge_base import curation, runtime

KEFU = str(Path(sys.executable).parent / "kefu")

pytestmark = pytest.mark.integration  # the real model and the kefu CLI


def test_index_picks_up_writes_from_elsewhere(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    prepare_database(url, demo_users=False)
    engine = make_engine(url)
    with Session(engine) as session:
        retriever = runtime.build_retriever(session)
        assert runtime.ensure_fresh(retriever, session) is False  # just built: no check yet
        with Session(engine) as other:  # "another worker" writes
            curation.create(
                other,
                data={"question": "Do you repair antique cuckoo clocks?", "variants": ["cuckoo clock repair"],
                      "answer": "Yes, in our Basel workshop.", "language": "en", "status": "published"},
                author_id=None,
            )  # fmt: skip
            other.commit()
        stale = retriever.search("repair my cuckoo clock", language="en").results[0]
        assert stale.answer != "Yes, in our Basel workshop."  # not indexed yet
        retriever.checked_at = 0.0  # as if 2 s had passed
        assert runtime.ensure_fresh(retriever, session) is True
        hit = retriever.search("repair my cuckoo clock", language="en").results[0]
        assert hit.answer == "Yes, in our Basel workshop."
        retriever.checked_at = 0.0
        assert runtime.ensure_fresh(retriever, session) is False  # nothing new
    engine.dispose()


def _kefu(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "KEFU_VAR_DIR": str(tmp_path)}
    return subprocess.run([KEFU, "kb", *args], capture_output=True, text=True, env=env)


def test_cli_import_and_export(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    rows = [
        {"id": "cli-1", "question": "Where is the shop?", "variants": ["shop address"], "answer": "Main St 1",
         "language": "en"},
        {"id": "cli-2", "question": "店在哪里？", "variants": ["地址"], "answer": "主街1号",
         "language": "zh"},
    ]  # fmt: skip
    good.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    done = _kefu(tmp_path, "import", str(good))
    assert done.returncode == 0, done.stderr
    assert "imported 2 entries (2 new, 0 updated)" in done.stdout

    bad = tmp_path / "bad.csv"
    bad.write_text("id,question,answer,language\ncli-3,Q,A,en\ncli-4,,A,en\ncli-5,Q,A,de\n", encoding="utf-8")
    refused = _kefu(tmp_path, "import", str(bad))
    assert refused.returncode == 1
    assert "row 3" in refused.stderr and "row 4" in refused.stderr
    assert _kefu(tmp_path, "import", str(tmp_path / "missing.jsonl")).returncode == 2
    assert _kefu(tmp_path, "import", str(tmp_path / "faqs.txt")).returncode == 2

    out = tmp_path / "out.csv"
    exported = _kefu(tmp_path, "export", str(out))
    assert exported.returncode == 0, exported.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("id,question,variants")
    assert {line.split(",")[0] for line in lines[1:]} == {"cli-1", "cli-2"}  # cli-3 was not imported either
