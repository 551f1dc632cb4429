"""Measure the analyser on the development sets (TweetEval validation, ChnSentiCorp hotel reviews).

These sets are for measuring only: nothing here trains on them.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sentiment.model import LABELS
from sentiment.types import Analysis, SentimentError

TWEETEVAL = "en_tweeteval_sentiment"
CHNSENTICORP = "zh_chnsenticorp_htl_all"
BATCH = 64
Progress = Callable[[int, int], None]  # (done, total)


@dataclass(frozen=True)
class EvalSet:
    """One labelled development set."""

    name: str
    language: str
    texts: list[str]
    labels: list[str]
    classes: tuple[str, ...]


def _tweeteval(folder: Path) -> EvalSet:
    mapping = dict(
        line.split(maxsplit=1) for line in (folder / "mapping.txt").read_text(encoding="utf-8").splitlines()
        if line.strip()
    )  # fmt: skip
    texts = (folder / "val_text.txt").read_text(encoding="utf-8").splitlines()
    ids = (folder / "val_labels.txt").read_text(encoding="utf-8").splitlines()
    if len(texts) != len(ids):
        raise SentimentError(f"{folder}: val_text.txt and val_labels.txt differ in length")
    labels = [mapping[i.strip()].strip() for i in ids]
    return EvalSet("tweeteval", "en", texts, labels, LABELS)


def _chnsenticorp(folder: Path) -> EvalSet:
    texts: list[str] = []
    labels: list[str] = []
    with (folder / "ChnSentiCorp_htl_all.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            review = (row.get("review") or "").strip()
            if review:  # a handful of rows are empty: nothing to analyse
                texts.append(review)
                labels.append("positive" if row["label"].strip() == "1" else "negative")
    return EvalSet("chnsenticorp", "zh", texts, labels, ("negative", "positive"))


LOADERS: dict[str, Callable[[Path], EvalSet]] = {TWEETEVAL: _tweeteval, CHNSENTICORP: _chnsenticorp}


def load_sets(data_dir: Path) -> list[EvalSet]:
    """The development sets found in `data_dir` (the sentiment_dev folder, or one of its sets)."""
    if not data_dir.is_dir():
        raise SentimentError(f"{data_dir} is not a folder")
    found = [loader(data_dir / name) for name, loader in LOADERS.items() if (data_dir / name).is_dir()]
    if not found and data_dir.name in LOADERS:
        found = [LOADERS[data_dir.name](data_dir)]
    if not found:
        raise SentimentError(f"{data_dir} holds neither {TWEETEVAL}/ nor {CHNSENTICORP}/")
    return found


def predict(
    analyse_many: Callable[[list[str], str], list[Analysis]],
    data: EvalSet,
    progress: Progress | None = None,
) -> list[str]:
    """Predicted labels; for a two-class set the sign of the score decides (neutral is not an option)."""
    predicted: list[str] = []
    for start in range(0, len(data.texts), BATCH):
        batch = [t if t.strip() else "." for t in data.texts[start : start + BATCH]]
        for result in analyse_many(batch, data.language):
            if len(data.classes) == 2:
                predicted.append("negative" if result.score < 0 else "positive")
            else:
                predicted.append(result.label)
        if progress:
            progress(len(predicted), len(data.texts))
    return predicted


def metrics(data: EvalSet, predicted: list[str]) -> dict[str, Any]:
    """The set's official metric and the usual others, with the confusion matrix (rows: truth)."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, recall_score

    classes = list(data.classes)
    result: dict[str, Any] = {
        "accuracy": round(float(accuracy_score(data.labels, predicted)), 4),
        "macro_recall": round(
            float(recall_score(data.labels, predicted, labels=classes, average="macro")), 4
        ),
        "macro_f1": round(float(f1_score(data.labels, predicted, labels=classes, average="macro")), 4),
        "n": len(data.labels),
        "classes": classes,
        "confusion": confusion_matrix(data.labels, predicted, labels=classes).tolist(),
    }
    return result


def evaluate(
    analyse_many: Callable[[list[str], str], list[Analysis]],
    sets: list[EvalSet],
    progress: Callable[[str], Progress] | None = None,
) -> dict[str, dict[str, Any]]:
    """{set name: metrics} for every set."""
    return {
        data.name: metrics(data, predict(analyse_many, data, progress(data.name) if progress else None))
        for data in sets
    }


def console_progress(sets: list[EvalSet]) -> Callable[[str], Progress]:
    """A progress bar per set on stderr (tqdm), for evaluate()'s `progress`."""
    import sys

    from tqdm import tqdm

    sizes = {s.name: len(s.texts) for s in sets}

    def start(name: str) -> Progress:
        bar = tqdm(total=sizes[name], desc=name, unit="msg", file=sys.stderr)

        def step(done: int, total: int) -> None:
            bar.update(done - bar.n)
            if done >= total:
                bar.close()

        return step

    return start
