"""Rasa NLU component: intents from a logistic regression over the message's counts, its MiniLM
vector and its closeness to each intent's examples. Runs inside .venv-rasa.

It replaced DIET: better on our data and trains in seconds (docs/decisions/0005-nlu-pipeline.md). Four inputs:
- the word and character n-gram counts of the CountVectorsFeaturizers (sparse sentence features);
- the MiniLM sentence vector of `SentenceEmbeddingFeaturizer` (dense sentence features, scaled there);
- per intent, the cosine of the message's vector to the nearest training example of that intent.
  A linear model on the raw vector cannot express "close to one of these examples"; short answers
  ("definitely", "absolutely") live near their neighbours more than near their intent's centre.
- per intent, the same nearest-example cosine over the word and character counts (log-scaled, unit
  length). The MiniLM vector is English; this is the nearest-example signal Chinese gets.
The model is kept as plain arrays (no pickle) and scored by hand, block by block.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix, hstack, issparse, vstack

FILE = "intent_classifier.npz"


def _unit(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.maximum(norms, 1e-12)


def lexical_units(counts: csr_matrix) -> csr_matrix:
    """Count rows as unit vectors of log(1 + count): a long message's repeats do not swamp its cosine."""
    counts = csr_matrix(counts, copy=True)
    counts.sum_duplicates()  # one entry per n-gram, or its log would be taken piecewise
    data = np.log1p(counts.data.astype(np.float64))
    rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
    # Array arithmetic, not sparse .multiply(): this runs on every message, where scipy's overhead dominates.
    norms = np.sqrt(np.bincount(rows, weights=data * data, minlength=counts.shape[0]))
    data /= np.maximum(norms, 1e-12)[rows]
    return csr_matrix((data, counts.indices.copy(), counts.indptr.copy()), shape=counts.shape)


def best_by_class(sims: Any, labels: np.ndarray, n_classes: int, *, skip_self: bool = False) -> np.ndarray:
    """(queries, n_classes): from (queries, examples) similarities, each query's highest one per class."""
    sims = sims.toarray() if issparse(sims) else np.array(sims)
    if skip_self:  # a training example is not its own neighbour
        np.fill_diagonal(sims, -1.0)
    out = np.full((sims.shape[0], n_classes), -1.0, dtype=np.float32)
    for c in range(n_classes):
        members = labels == c
        if members.any():
            out[:, c] = sims[:, members].max(axis=1)
    return out


def nearest_by_class(
    queries: np.ndarray, examples: np.ndarray, labels: np.ndarray, n_classes: int, *, skip_self: bool = False
) -> np.ndarray:
    """(queries, n_classes): each query's highest cosine to an example of each class (unit rows in)."""
    return best_by_class(queries @ examples.T, labels, n_classes, skip_self=skip_self)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class SentenceIntentClassifier(IntentClassifier, GraphComponent):
    """Logistic regression over sparse counts, the sentence vector and nearest-example cosines."""

    @classmethod
    def required_components(cls) -> list[type]:
        """Needs featurized messages."""
        return [Featurizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """`C`: inverse regularisation; `knn_weight` / `lexical_knn_weight`: scale of the nearest-example
        cosines over sentence vectors / over counts."""
        return {
            "C": 5.0, "knn_weight": 3.0, "lexical_knn_weight": 3.0, "max_iter": 1000, "ranking_length": 10,
            "random_state": 42,
        }  # fmt: skip

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """The whole module: Rasa's training cache fingerprints only the class's own source, and the
        helpers above it shape the trained arrays too."""
        return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Positive numbers where they must be."""
        if float(config.get("C", 1.0)) <= 0 or int(config.get("max_iter", 1)) < 1:
            raise ValueError("SentenceIntentClassifier: C and max_iter must be positive")

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.classes: np.ndarray = np.array([], dtype=object)
        self.coef = np.zeros((0, 0), dtype=np.float64)
        self.intercept = np.zeros(0, dtype=np.float64)
        self.examples = np.zeros((0, 0), dtype=np.float32)  # unit sentence vectors of the training set
        self.example_labels = np.zeros(0, dtype=np.int64)
        self.lexical_examples = csr_matrix((0, 0))  # lexical_units() of the training set's counts
        self._lexical_t = csr_matrix((0, 0))  # its transpose, kept row-major: 3x faster products
        self._blocks: list[np.ndarray] = []  # coef split by input, transposed (see _set_weights)

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceIntentClassifier:
        """An untrained classifier."""
        return cls(config, model_storage, resource)

    @staticmethod
    def _parts(messages: list[Message]) -> tuple[csr_matrix, np.ndarray]:
        sparse, dense = [], []
        for message in messages:
            sparse_feats = message.get_sparse_features(attribute=TEXT)[1]
            dense_feats = message.get_dense_features(attribute=TEXT)[1]
            if sparse_feats is None or dense_feats is None:
                raise ValueError(
                    "SentenceIntentClassifier needs CountVectorsFeaturizer and SentenceEmbeddingFeaturizer "
                    "before it in the pipeline"
                )
            sparse.append(csr_matrix(sparse_feats.features))
            dense.append(np.asarray(dense_feats.features, dtype=np.float32).reshape(-1))
        return vstack(sparse).tocsr(), np.vstack(dense)

    def _inputs(
        self, sparse: csr_matrix, dense: np.ndarray, near: np.ndarray, lexical_near: np.ndarray
    ) -> list[Any]:
        """The regression's input blocks, in the order of its weights (see `_set_weights`)."""
        knn = float(self.config["knn_weight"]) * near
        return [sparse, dense, knn, float(self.config["lexical_knn_weight"]) * lexical_near]

    def _matrix(
        self, sparse: csr_matrix, dense: np.ndarray, near: np.ndarray, lexical_near: np.ndarray
    ) -> csr_matrix:
        return hstack([csr_matrix(b) for b in self._inputs(sparse, dense, near, lexical_near)]).tocsr()

    def train(self, training_data: TrainingData) -> Resource:
        """Fits the regression on every intent example with text and stores it in the model."""
        from sklearn.linear_model import LogisticRegression

        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        if not examples:
            return self._resource
        sparse, dense = self._parts(examples)
        names = np.array([e.get(INTENT) for e in examples])
        self.classes = np.array(sorted(set(names)), dtype=object)
        index = {name: i for i, name in enumerate(self.classes)}
        self.example_labels = np.array([index[n] for n in names], dtype=np.int64)
        self.examples = _unit(dense).astype(np.float32)
        self._set_lexical(lexical_units(sparse))
        n_classes = len(self.classes)
        near = nearest_by_class(self.examples, self.examples, self.example_labels, n_classes, skip_self=True)
        lexical_near = best_by_class(
            self.lexical_examples @ self._lexical_t, self.example_labels, n_classes, skip_self=True
        )
        clf = LogisticRegression(
            C=float(self.config["C"]),
            max_iter=int(self.config["max_iter"]),
            class_weight="balanced",
            random_state=int(self.config["random_state"]),
        )
        clf.fit(self._matrix(sparse, dense, near, lexical_near), self.example_labels)
        coef, intercept = clf.coef_, clf.intercept_
        if len(self.classes) == 2:  # sklearn keeps one row for two classes: make it a softmax pair
            coef = np.vstack([-coef[0] / 2, coef[0] / 2])
            intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
        self._set_weights(coef.astype(np.float64), intercept.astype(np.float64))
        with self._model_storage.write_to(self._resource) as folder:
            np.savez(
                folder / FILE,
                classes=self.classes.astype(str),
                coef=self.coef,
                intercept=self.intercept,
                examples=self.examples,
                example_labels=self.example_labels,
                lexical_data=self.lexical_examples.data,
                lexical_indices=self.lexical_examples.indices,
                lexical_indptr=self.lexical_examples.indptr,
                lexical_shape=np.array(self.lexical_examples.shape),
            )
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SentenceIntentClassifier:
        """The trained classifier from the model's storage."""
        self = cls(config, model_storage, resource)
        with (
            model_storage.read_from(resource) as folder,
            np.load(folder / FILE, allow_pickle=False) as stored,
        ):
            self.classes = stored["classes"].astype(object)
            self.examples, self.example_labels = stored["examples"], stored["example_labels"]
            self._set_lexical(
                csr_matrix(
                    (stored["lexical_data"], stored["lexical_indices"], stored["lexical_indptr"]),
                    shape=tuple(stored["lexical_shape"]),
                )
            )
            self._set_weights(stored["coef"], stored["intercept"])
        return self

    def _set_lexical(self, lexical: csr_matrix) -> None:
        self.lexical_examples, self._lexical_t = lexical, lexical.T.tocsr()

    def _set_weights(self, coef: np.ndarray, intercept: np.ndarray) -> None:
        """Keeps the weights, and them split by input (counts, vector, two nearest-example blocks):
        scoring multiplies block by block instead of stacking a sparse row per message."""
        self.coef, self.intercept = coef, intercept
        n_classes, n_dense = len(self.classes), self.examples.shape[1]
        edges = np.cumsum([coef.shape[1] - n_dense - 2 * n_classes, n_dense, n_classes])
        if edges[0] != self.lexical_examples.shape[1]:  # set classes, examples and lexical examples first
            raise ValueError(
                f"SentenceIntentClassifier: {coef.shape[1]} weights do not fit "
                f"{self.lexical_examples.shape[1]} counts, a {n_dense}-number vector and {n_classes} intents"
            )
        self._blocks = [np.ascontiguousarray(block.T) for block in np.split(coef, edges, axis=1)]

    def probabilities(self, messages: list[Message]) -> np.ndarray:
        """(messages, intents) probabilities, in the order of `self.classes`."""
        return self.scores(*self._parts(messages))

    def scores(self, sparse: csr_matrix, dense: np.ndarray) -> np.ndarray:
        """Probabilities from the features: the softmax of `_matrix(...) @ coef.T + intercept` (what
        sklearn's predict_proba gives), computed block by block."""
        n_classes = len(self.classes)
        near = nearest_by_class(_unit(dense), self.examples, self.example_labels, n_classes)
        lexical_near = best_by_class(lexical_units(sparse) @ self._lexical_t, self.example_labels, n_classes)
        inputs = self._inputs(sparse, dense, near, lexical_near)
        logits = sum((np.asarray(b @ w) for b, w in zip(inputs, self._blocks, strict=True)), self.intercept)
        logits = logits - logits.max(axis=1, keepdims=True)
        weights = np.exp(logits)
        return weights / weights.sum(axis=1, keepdims=True)

    def process(self, messages: list[Message]) -> list[Message]:
        """Sets `intent` and `intent_ranking` on messages with text."""
        with_text = [m for m in messages if m.get(TEXT)]
        if not with_text or len(self.classes) == 0:
            return messages
        for message, probs in zip(with_text, self.probabilities(with_text), strict=True):
            order = np.argsort(-probs)
            ranking = [{"name": str(self.classes[i]), "confidence": float(probs[i])} for i in order]
            message.set(INTENT, ranking[0], add_to_output=True)
            limit = int(self.config["ranking_length"])
            message.set("intent_ranking", ranking[:limit] if limit > 0 else ranking, add_to_output=True)
        return messages
