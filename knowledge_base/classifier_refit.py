"""Retraining a language's entry classifier (and its open-intent calibration, when on) after a change: at
once, or in the background for a large base."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from knowledge_base.calibration import Calibration, calibrate, snapshot
from knowledge_base.entry_classifier import DESIGNS, ClassifierDesign, EntryClassifier
from knowledge_base.index import LanguageIndex
from knowledge_base.thresholds import Thresholds

# The classifier learns one class per entry; its weights grow with entries × n-gram vocabulary. Beyond
# these sizes it is too slow and too large to retrain, and a base that large has enough variants for the
# dense and lexical signals.
CLASSIFIER_MAX_ENTRIES = {"zh": 1000, "en": 500}
CLASSIFIER_MAX_TEXTS = 20_000
# An edit to a base with more texts than this retrains the classifier in the background; searches
# meanwhile fuse only dense and lexical scores (a classifier that misses the edit would mislead).
SYNC_CLASSIFIER_TEXTS = 3000

# Open-intent calibration rebuilds the index five times, each with a classifier fit: a language with more
# texts than this is calibrated in the background, and decides as without it until then.
SYNC_CALIBRATION_TEXTS = 600

T = TypeVar("T")


class ClassifierRefits:
    """Fits classifiers into language indexes; a background fit is installed under `lock`, and only if
    its index has not changed since."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._threads: list[threading.Thread] = []

    def refit(self, language: str, index: LanguageIndex, weight: float, *, background: bool = False) -> None:
        """Drop `index`'s classifier and fit a new one when `weight` > 0 and the base is within the limits
        (in a thread with `background`, an edit rather than a build, when it has over SYNC_CLASSIFIER_TEXTS
        texts). Call after `index.reindex_rows()`."""
        index.install(None, [])
        ids = list(index.docs)
        max_entries = CLASSIFIER_MAX_ENTRIES.get(language, 0)
        if weight <= 0 or not 2 <= len(index.entries) <= max_entries or len(ids) > CLASSIFIER_MAX_TEXTS:
            return
        order = list(index.entries)
        position = {faq_id: pos for pos, faq_id in enumerate(order)}
        owners = np.asarray([position[index.docs[i].faq_id] for i in ids])
        texts = [index.docs[i].text for i in ids]
        design = DESIGNS.get(language, ClassifierDesign())
        vectors = index.row_vectors if design.embed_scale else None

        def fit() -> EntryClassifier:
            return EntryClassifier(texts, owners, len(order), vectors=vectors, design=design)

        if not background or len(ids) <= SYNC_CLASSIFIER_TEXTS:
            index.install(fit(), order)
            return
        self.in_background(index, f"kb-classifier-{language}", fit, lambda c: index.install(c, order))

    def recalibrate(
        self,
        language: str,
        index: LanguageIndex,
        th: Thresholds,
        *,
        approx_above: int,
        vocabulary: Callable[[int], int | None],
    ) -> None:
        """Drop `index`'s open-intent calibration and compute a new one when `th.open_quantile` > 0 (in a
        thread above SYNC_CALIBRATION_TEXTS texts). Call after `refit`."""
        index.calibration = None
        if th.open_quantile <= 0 or not index.docs:
            return
        snap = snapshot(index)

        def compute() -> Calibration | None:
            return calibrate(
                snap,
                th,
                approx_above=approx_above,
                vocabulary=vocabulary,
                fit_classifier=lambda fold: self.refit(language, fold, th.classifier_weight),
            )

        def install(calibration: Calibration | None) -> None:
            index.calibration = calibration

        if len(index.docs) <= SYNC_CALIBRATION_TEXTS:
            install(compute())
            return
        self.in_background(index, f"kb-calibration-{language}", compute, install)

    def in_background(
        self, index: LanguageIndex, name: str, compute: Callable[[], T], install: Callable[[T], None]
    ) -> None:
        """Run `compute` in a thread and `install` its result under the lock, if `index` has not changed."""
        generation = index.generation

        def compute_and_install() -> None:
            result = compute()
            with self._lock:
                if index.generation == generation:
                    install(result)

        thread = threading.Thread(target=compute_and_install, name=name, daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def wait(self, timeout: float | None = None) -> None:
        """Wait until what is computed in the background (classifiers, calibrations) is in place."""
        for thread in list(self._threads):
            thread.join(timeout)
        self._threads = [t for t in self._threads if t.is_alive()]
