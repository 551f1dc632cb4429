"""`kefu kb reindex` and `kefu kb eval` with KEFU_EMBEDDING_MODEL_ZH: Chinese gets its own model's store and
is evaluated with that model, as the app searches it (tiny model built by the test, no download)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kefu.cli import main
from kefu_core.encoding.embedder import default_model_path
from knowledge_base.thresholds import DEFAULT_THRESHOLDS, OWN_ENCODER_THRESHOLDS
from tests.helpers import kefu_env
from tests.knowledge_base.tiny_model import ENTRIES, entries_database, tiny_model

KEFU = str(Path(sys.executable).parent / "kefu")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model(tmp_path_factory.mktemp("tiny-model"))


def _manifests(root: Path) -> dict[int, dict[str, Any]]:
    """Each store's manifest, by vector dimension."""
    return {m["dimension"]: m for m in (json.loads(p.read_text()) for p in root.glob("*/manifest.json"))}


@pytest.mark.integration
def test_reindex_clears_and_fills_a_store_per_model(tiny: Path, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": entries_database(tmp_path),
        "KEFU_VAR_DIR": str(tmp_path),
        "KEFU_EMBEDDING_MODEL": "",
        "KEFU_EMBEDDING_MODEL_ZH": str(tiny),
    }

    def reindex(*flags: str) -> str:
        done = subprocess.run([KEFU, "kb", "reindex", *flags], capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
        return done.stdout

    out = reindex()
    assert "zh: 3 entries, 8 texts" in out and "en: 2 entries, 4 texts" in out
    assert "; 12 embedded)" in out  # 8 Chinese texts by the tiny model, 4 English ones by MiniLM
    root = tmp_path / "kb-index"
    stores = sorted(root.glob("*/manifest.json"))
    assert len(stores) == 2 and all(str(p.parent) in out for p in stores)  # every store's root is named
    manifests = _manifests(root)
    assert set(manifests) == {32, 384}
    assert manifests[32]["model_path"] == str(tiny.resolve())
    assert set(manifests[32]["languages"]) == {"zh"}
    assert set(manifests[384]["languages"]) == {"en"}

    assert "; 0 embedded)" in reindex("--keep-vectors")  # both stores read back
    assert "; 12 embedded)" in reindex()  # both stores cleared: every text embedded again


@pytest.mark.integration
def test_eval_embeds_chinese_with_its_own_model(
    tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kb, queries = tmp_path / "kb.jsonl", tmp_path / "q.jsonl"
    kb.write_text(
        "".join(
            json.dumps({"id": i, "language": lang, "question": q, "answer": "ok", "variants": v[1:]}) + "\n"
            for i, lang, q, v in ENTRIES
        ),
        encoding="utf-8",
    )
    # Each entry's first variant is left out of the base and asked.
    queries.write_text(
        "".join(json.dumps({"text": v[0], "expected_id": i}) + "\n" for i, _, _, v in ENTRIES),
        encoding="utf-8",
    )

    def evaluate(zh_model: str) -> dict[str, Any]:
        out = tmp_path / f"eval-{bool(zh_model)}.json"
        with kefu_env(KEFU_EMBEDDING_MODEL="", KEFU_EMBEDDING_MODEL_ZH=zh_model):
            argv = ["kb", "eval", "--kb", str(kb), "--queries", str(queries), "--json", str(out)]
            assert main(argv) == 0, capsys.readouterr().err
        report: dict[str, Any] = json.loads(out.read_text())
        return report

    own = evaluate(str(tiny))
    assert own["embedding_models"] == {"en": str(default_model_path()), "zh": str(tiny.resolve())}
    # Chinese is decided with the own-model weights, as in the app; with abstention on (the default) a
    # language answers at its clarify cut-off (docs/decisions/0014).
    assert own["answer_thresholds"] == {
        "en": DEFAULT_THRESHOLDS["en"].clarify,
        "zh": OWN_ENCODER_THRESHOLDS["zh"].clarify,
    }
    assert own["n"] == len(ENTRIES)

    plain = evaluate("")
    assert plain["embedding_models"] == {"en": str(default_model_path()), "zh": str(default_model_path())}
    assert plain["answer_thresholds"] == {lang: DEFAULT_THRESHOLDS[lang].clarify for lang in ("en", "zh")}


def test_eval_with_a_bad_chinese_model_exits_2_naming_the_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kb, queries, out = tmp_path / "kb.jsonl", tmp_path / "q.jsonl", tmp_path / "o.json"
    kb.write_text(json.dumps({"id": "a", "language": "zh", "question": "包邮吗", "answer": "是"}) + "\n")
    queries.write_text(json.dumps({"text": "包邮吗", "expected_id": "a"}) + "\n")
    with kefu_env(KEFU_EMBEDDING_MODEL_ZH=str(tmp_path / "missing")):
        argv = ["kb", "eval", "--kb", str(kb), "--queries", str(queries), "--json", str(out)]
        assert main(argv) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "KEFU_EMBEDDING_MODEL_ZH" in err and "no such folder" in err
    assert not out.exists()
