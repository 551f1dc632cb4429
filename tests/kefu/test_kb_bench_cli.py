"""`kefu kb bench banking77-open` and `kefu kb bench atec` on tiny data sets the tests write, with the fake
encoder: the JSON, the summary, and a clear error for each bad flag or folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kefu.cli import main
from tests.knowledge_base.fakes import HashEncoder
from tests.knowledge_base.test_atec import write_atec
from tests.knowledge_base.test_open_intent import write_banking


@pytest.fixture(autouse=True)
def fake_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    """No model: the throw-away index embeds with the hashed bag of words."""
    monkeypatch.setattr("knowledge_base.evaluate.Embedder", HashEncoder)


def test_banking77_open_writes_the_open_intent_block(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, out = write_banking(tmp_path / "banking77"), tmp_path / "out" / "open.json"
    argv = ["kb", "bench", "banking77-open", "--known-ratio", "0.25", "--seed", "1"]
    assert main([*argv, "--data", str(data), "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert (report["dataset"], report["known_ratio"], report["seed"]) == ("banking77-open", 0.25, 1)
    assert len(report["known_intents"]) == report["entries"] == 2  # round(8 x 0.25)
    assert (report["n"], report["n_unanswerable"]) == (16, 12)
    assert report["open_intent"]["open_recall"] == report["none_rate_unanswerable"]
    err = capsys.readouterr().err
    assert "banking77-open (2 known intents, ratio 0.25, seed 1)" in err and "open intent: accuracy" in err


def test_atec_writes_kefu_beside_the_baselines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, out = write_atec(tmp_path / "atec"), tmp_path / "atec.json"
    assert (
        main(["kb", "bench", "atec", "--data", str(data), "--seed", "0", "--groups", "3", "--json", str(out)])
        == 0
    )
    report = json.loads(out.read_text())
    assert (report["dataset"], report["groups"], report["groups_in_file"]) == ("atec", 3, 4)
    assert {"kefu", "tfidf_char", "bm25_jieba", "top1_ratio_vs_tfidf"} <= report.keys()
    err = capsys.readouterr().err
    assert "3 of 4 groups, seed 0" in err and "character TF-IDF" in err and "BM25, jieba words" in err


@pytest.mark.parametrize(
    ("ratio", "message"),
    [("1.5", "must be between 0 and 1"), ("0", "must be between 0 and 1"), ("half", "not a number: 'half'")],
)
def test_a_bad_ratio_is_a_usage_error(ratio: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "kb",
                "bench",
                "banking77-open",
                "--known-ratio",
                ratio,
                "--seed",
                "0",
                "--data",
                "d",
                "--json",
                "o",
            ]
        )
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["banking77-open"], "banking77-open needs --known-ratio"),
        (["banking77", "--known-ratio", "0.5"], "--known-ratio applies to banking77-open only"),
        (["atec", "--shots", "5"], "--shots applies to banking77 only"),
        (["banking77", "--groups", "10"], "--groups applies to atec only"),
        (["atec", "--adapt"], "--adapt does not apply to atec"),
    ],
)
def test_flags_that_do_not_apply_exit_2(
    flags: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o.json"
    assert main(["kb", "bench", *flags, "--seed", "0", "--data", str(tmp_path), "--json", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["banking77-open", "--known-ratio", "0.5"], "no such folder (is --data the banking77 folder?)"),
        (["atec"], "no such folder (is --data the atec folder?)"),
    ],
)
def test_a_missing_data_folder_exits_2(
    flags: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o.json"
    missing = tmp_path / "nowhere"
    assert main(["kb", "bench", *flags, "--seed", "0", "--data", str(missing), "--json", str(out)]) == 2
    assert f"error: {missing}: {message}" in capsys.readouterr().err
    assert not out.exists()


def test_more_atec_groups_than_the_file_has_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_atec(tmp_path / "atec")
    argv = ["kb", "bench", "atec", "--data", str(data), "--seed", "0", "--groups", "9", "--json", "o.json"]
    assert main(argv) == 2
    assert "asked for 9 groups but the file has only 4" in capsys.readouterr().err


def _stats(mean: float, sd: float) -> dict[str, float]:
    return {"mean": mean, "sd": sd, "min": mean - sd, "max": mean + sd}


def test_bench_rows_report_misses_as_misses() -> None:
    from kefu.bench_kb_open import atec_rows, open_intent_rows

    summary = {key: _stats(0.5, 0.01) for key in ("accuracy", "macro_f1", "open_f1", "open_recall")}
    block = {"summary": summary}
    result = {
        "by_ratio": {
            "25%": block,
            "50%": {"summary": {**summary, "accuracy": _stats(0.8, 0.0)}},
            "75%": block,
        },
        "met": {"25%": False, "50%": True, "75%": False},
    }
    rows = open_intent_rows(result)
    accuracy = [r for r in rows if "known: accuracy" in r]
    assert len(rows) == 9 and len(accuracy) == 3
    assert "| 50.00 ± 1.00 % | ≥ 79 % | ADB 78.85 %, MSP 43.67 %" in accuracy[0] and accuracy[0].endswith(
        "**no** |"
    )
    assert accuracy[1].endswith("| yes |")
    assert all(r.endswith("**no** |") and "not measured" in r for r in open_intent_rows(None))
    means = {m: {"top1": 0.3, "top3": 0.5} for m in ("kefu", "tfidf_char", "bm25_jieba")}
    atec = {"mean": means, "groups": 2000, "top1_ratio_vs_tfidf": 1.0, "met": False}
    lines = atec_rows(atec)
    assert "30.00 / 50.00 %" in lines[0] and lines[-1].endswith("| ≥ 1.5× | — | **no** |")
    assert "not measured" in atec_rows(None)[0]
