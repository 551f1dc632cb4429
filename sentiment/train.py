"""Train the default backend from our own data and cache it under var/models/sentiment/<content hash>/."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn

from kefu_core.paths import var_dir
from sentiment.model import DESIGNS, LABELS, SEED, Design, LanguageModel

log = logging.getLogger("kefu.sentiment")

PACKAGE = Path(__file__).resolve().parent
DATA_DIR = PACKAGE / "data"
LANGUAGES = ("en", "zh")
# The training code: a change to any of these files is a new model.
CODE_FILES = ("encoder.py", "features.py", "model.py", "train.py", "zh_lexicon.py")
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Example:
    """One labelled message."""

    text: str
    label: str


def data_files(language: str, data_dir: Path = DATA_DIR) -> list[Path]:
    """One language's files: `<lang>.jsonl` (chat messages) and any `<lang>_*.jsonl` (e.g. `_voice`:
    reviews, feedback comments and public posts)."""
    return [data_dir / f"{language}.jsonl", *sorted(data_dir.glob(f"{language}_*.jsonl"))]


def load_examples(language: str, data_dir: Path = DATA_DIR) -> list[Example]:
    """The labelled messages of one language (JSON lines: {"text", "label"})."""
    examples: list[Example] = []
    for path in data_files(language, data_dir):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            row = json.loads(line)
            if row.get("label") not in LABELS or not str(row.get("text", "")).strip():
                raise ValueError(f"{path}:{number}: needs a non-empty text and a label in {LABELS}")
            examples.append(Example(str(row["text"]), str(row["label"])))
    return examples


def cache_key(
    data_dir: Path = DATA_DIR, embedding_model: str | Path | None = None, encoder: str = "torch"
) -> str:
    """A hash of the training data, the training code, scikit-learn's version and the embedding model
    and runtime (`encoder`: the vectors of int8 ONNX and full-precision torch differ)."""
    digest = hashlib.sha256()
    for language in LANGUAGES:
        for path in data_files(language, data_dir):
            if path.name != f"{language}.jsonl":  # models trained on the first files keep their keys
                digest.update(path.name.encode())
            digest.update(path.read_bytes())
    for name in CODE_FILES:
        digest.update((PACKAGE / name).read_bytes())
    digest.update(sklearn.__version__.encode())
    digest.update(str(embedding_model or "default").encode())
    if encoder != "torch":  # keys of torch-trained models stay as they were
        digest.update(f"encoder:{encoder}".encode())
    return digest.hexdigest()[:16]


def cache_root() -> Path:
    """Where trained models are kept."""
    return var_dir() / "models" / "sentiment"


def model_path(key: str, root: Path | None = None) -> Path:
    """The model file for one cache key."""
    return (root or cache_root()) / key / "model.joblib"


def _encode(embed: Callable[[list[str]], np.ndarray], texts: list[str], language: str) -> np.ndarray:
    from sentiment.features import MAX_EMBED_CHARS, normalise

    return embed([normalise(t)[: MAX_EMBED_CHARS[language]] for t in texts])


def train_language(
    language: str,
    examples: list[Example],
    embed: Callable[[list[str]], np.ndarray],
    design: Design | None = None,
) -> LanguageModel:
    """Fit one language's model on `examples`."""
    from sentiment.features import normalise

    texts = [normalise(e.text) for e in examples]
    vectors = _encode(embed, [e.text for e in examples], language)
    model = LanguageModel(language, design or DESIGNS[language])
    return model.fit(texts, [e.label for e in examples], vectors)


def train(
    embed: Callable[[list[str]], np.ndarray],
    *,
    data_dir: Path = DATA_DIR,
    progress: Progress | None = None,
) -> dict[str, LanguageModel]:
    """Both languages' models from the data in `data_dir`."""
    np.random.seed(SEED)
    models: dict[str, LanguageModel] = {}
    for language in LANGUAGES:
        examples = load_examples(language, data_dir)
        if progress:
            progress(f"training {language} on {len(examples)} messages")
        models[language] = train_language(language, examples, embed)
    return models


def ensure_model(
    embed: Callable[[list[str]], np.ndarray],
    *,
    embedding_model: str | Path | None = None,
    encoder: str = "torch",
    root: Path | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> tuple[Path, bool]:
    """The cached model's path, training it first when missing; (path, trained now?)."""
    key = cache_key(embedding_model=embedding_model, encoder=encoder)
    path = model_path(key, root)
    if path.exists() and not force:
        return path, False
    started = time.perf_counter()
    log.info("sentiment model %s not cached: training it (about 20 s)", key)
    models = train(embed, progress=progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    joblib.dump({"key": key, "models": models, "labels": LABELS}, tmp)
    # Atomic: a second process never loads a half-written file.
    tmp.replace(path)
    log.info("sentiment model %s trained in %.1f s", key, time.perf_counter() - started)
    return path, True


def load_models(path: Path) -> dict[str, LanguageModel]:
    """The per-language models stored at `path`."""
    payload: dict[str, Any] = joblib.load(path)
    models: dict[str, LanguageModel] = payload["models"]
    return models


def cross_validate(
    embed: Callable[[list[str]], np.ndarray],
    language: str,
    design: Design | None = None,
    *,
    folds: int = 5,
    data_dir: Path = DATA_DIR,
) -> dict[str, float]:
    """Stratified k-fold macro-recall and accuracy on our own data (how designs are chosen)."""
    from sklearn.metrics import accuracy_score, recall_score
    from sklearn.model_selection import StratifiedKFold

    from sentiment.features import normalise

    examples = load_examples(language, data_dir)
    texts = [normalise(e.text) for e in examples]
    labels = np.array([e.label for e in examples])
    vectors = _encode(embed, [e.text for e in examples], language)
    predicted = np.empty(len(examples), dtype=object)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=SEED)
    for train_idx, test_idx in splitter.split(texts, labels):
        model = LanguageModel(language, design or DESIGNS[language]).fit(
            [texts[i] for i in train_idx], list(labels[train_idx]), vectors[train_idx]
        )
        probs = model.proba([texts[i] for i in test_idx], vectors[test_idx])
        predicted[test_idx] = [LABELS[i] for i in probs.argmax(axis=1)]
    return {
        "macro_recall": float(recall_score(labels, predicted.astype(str), average="macro")),
        "accuracy": float(accuracy_score(labels, predicted.astype(str))),
        "n": float(len(examples)),
    }
