"""`kefu sentiment eval` on small development sets this test writes itself (same file layout as
../shared/datasets/sentiment_dev): the JSON contract, the plot, and a clear error for a wrong folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kefu.cli import main

TWEETS = [
    ("worst airline ever, lost my bag again", 0),
    ("my phone died during the call, so annoying", 0),
    ("flight at 9am tomorrow", 1),
    ("the store opens on monday", 1),
    ("loved the concert last night, amazing!", 2),
    ("thanks for the quick help, great team", 2),
]
REVIEWS = [
    ("1", "房间干净，服务很好，下次还来"),
    ("1", "位置方便，早餐不错"),
    ("0", "房间很脏，服务态度差"),
    ("0", "隔音太差，一晚没睡好，不推荐"),
]


def _write_sets(root: Path) -> Path:
    tweets = root / "en_tweeteval_sentiment"
    tweets.mkdir(parents=True)
    (tweets / "mapping.txt").write_text("0\tnegative\n1\tneutral\n2\tpositive\n")
    (tweets / "val_text.txt").write_text("\n".join(t for t, _ in TWEETS) + "\n")
    (tweets / "val_labels.txt").write_text("\n".join(str(label) for _, label in TWEETS) + "\n")
    hotels = root / "zh_chnsenticorp_htl_all"
    hotels.mkdir()
    lines = ["label,review", *(f"{label},{text}" for label, text in REVIEWS), "1,"]  # an empty review
    (hotels / "ChnSentiCorp_htl_all.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def test_eval_writes_the_json_contract_and_a_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _write_sets(tmp_path / "sentiment_dev")
    out = tmp_path / "out" / "sentiment-eval.json"
    assert main(["sentiment", "eval", "--data", str(data), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    tweeteval, chn = result["tweeteval"], result["chnsenticorp"]
    assert {"macro_recall", "accuracy", "n"} <= tweeteval.keys() and tweeteval["n"] == len(TWEETS)
    assert {"accuracy", "macro_f1", "n"} <= chn.keys() and chn["n"] == len(REVIEWS)  # the empty row skipped
    assert sum(map(sum, tweeteval["confusion"])) == len(TWEETS)
    # Clear-cut examples: the shipped model gets most of them.
    assert tweeteval["accuracy"] >= 0.5 and chn["accuracy"] >= 0.75
    with Image.open(out.with_suffix(".png")) as image:
        assert image.format == "PNG" and image.width > 300
        assert np.asarray(image.convert("L"), dtype=float).std() > 20  # matrices drawn, not a blank page
    assert "tweeteval" in capsys.readouterr().out


def test_eval_of_one_set_and_an_explicit_plot_path(tmp_path: Path) -> None:
    data = _write_sets(tmp_path / "sets") / "zh_chnsenticorp_htl_all"
    out, plot = tmp_path / "zh.json", tmp_path / "plots" / "cm.png"
    assert main(["sentiment", "eval", "--data", str(data), "--json", str(out), "--plot", str(plot)]) == 0
    assert list(json.loads(out.read_text())) == ["backend", "chnsenticorp"]
    with Image.open(plot) as image:
        assert image.format == "PNG" and image.width > 300


def test_eval_of_a_folder_without_sets_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.json"
    assert main(["sentiment", "eval", "--data", str(tmp_path), "--json", str(out)]) == 2
    assert "en_tweeteval_sentiment" in capsys.readouterr().err
    assert not out.exists()
