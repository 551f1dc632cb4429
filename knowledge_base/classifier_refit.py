"""Retraining a language's entry classifier after a change: at once, or in the background for a large base."""

from __future__ import annotations

import threading

import numpy as np

from knowledge_base.entry_classifier import DESIGNS, ClassifierDesign, EntryClassifier
from knowledge_base.index import LanguageIndex

# The classifier learns one class per entry; its weights grow with entries × n-gram vocabulary. Beyond
# these sizes it is too slow and too large to retrain, and a base that large has enough variants for the
# dense and lexical signals.
CLASSIFIER_MAX_ENTRIES = {"zh": 1000, "en": 500}
CLASSIFIER_MAX_TEXTS = 20_000
# An edit to a base with more texts than this retrains the classifier in the background; searches
# meanwhile fuse only dense and lexical scores (a classifier that misses the edit would mislead).
SYNC_CLASSIFIER_TEXTS = 3000


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
        generation = index.generation

        def fit_and_install() -> None:
            classifier = fit()
            with self._lock:
                if index.generation == generation:
                    index.install(classifier, order)

        thread = threading.Thread(target=fit_and_install, name=f"kb-classifier-{language}", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def wait(self, timeout: float | None = None) -> None:
        """Wait until the classifiers being fitted in the background are in place."""
        for thread in list(self._threads):
            thread.join(timeout)
        self._threads = [t for t in self._threads if t.is_alive()]
