"""Rasa NLU component: a MiniLM sentence vector for every message, a dense feature for the intent classifier.

Word and character counts cannot tell apart intents that differ in meaning more than in words
("no thanks, that's all" closes a chat, "no, that's wrong" denies; praise is not a complaint). The
sentence vector carries that meaning. It comes from the int8 ONNX copy of the shipped MiniLM that
kefu's app environment exports (`kefu model ensure` writes the bundle and names it in
`KEFU_SENTENCE_ENCODER_DIR`); training copies the bundle into the Rasa model, so a trained model is
self-contained and the server needs no file outside it. Runs inside .venv-rasa.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import METADATA, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from kefu_core.encoding.onnx import BUNDLE_FILES, BUNDLE_GRAPH, OnnxEncoder
from kefu_core.encoding.shared import METADATA_KEY, graph_id, unpack

ENV_DIR = "KEFU_SENTENCE_ENCODER_DIR"


def bundle_dir(config: dict[str, Any]) -> Path:
    """The encoder bundle named by the component's `model_dir` or `KEFU_SENTENCE_ENCODER_DIR`."""
    value = config.get("model_dir") or os.environ.get(ENV_DIR, "")
    if not value:
        raise ValueError(
            f"SentenceEmbeddingFeaturizer needs the encoder bundle: set {ENV_DIR} "
            "(`kefu model ensure` exports it and trains with it)"
        )
    folder = Path(value)
    missing = [name for name in BUNDLE_FILES if not (folder / name).is_file()]
    if missing:
        raise ValueError(f"the encoder bundle {folder} lacks {', '.join(missing)}")
    return folder


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds the message's MiniLM vector (384 numbers) as a dense sentence feature of its text."""

    @classmethod
    def required_components(cls) -> list[type]:
        """Runs after tokenising, like every featurizer."""
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """`model_dir`: the bundle (unset: `KEFU_SENTENCE_ENCODER_DIR`); `scale`: the vector's length;
        `max_unknown_share`: above this share of unknown word pieces the vector is all zeros."""
        defaults = {"model_dir": None, "scale": 1.0, "max_unknown_share": 0.5}
        return {**DenseFeaturizer.get_default_config(), **defaults}

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """`model_dir`, when given, is a path."""
        if config.get("model_dir") is not None and not isinstance(config["model_dir"], str):
            raise ValueError("SentenceEmbeddingFeaturizer: model_dir must be a folder path")

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """Another encoder graph means another model: Rasa's training cache must not reuse this one."""
        try:
            folder = bundle_dir(config)
        except ValueError:
            return None
        digest = hashlib.sha256()
        for name in BUNDLE_FILES:
            stat = (folder / name).stat()
            digest.update(f"{name}:{stat.st_size}".encode())
        digest.update(str(folder.resolve()).encode())  # the folder is named by the model's fingerprint
        return digest.hexdigest()[:16]

    def __init__(
        self,
        config: dict[str, Any],
        name: str,
        model_storage: ModelStorage,
        resource: Resource,
        folder: Path | None,
    ) -> None:
        super().__init__(name, config)
        self._model_storage = model_storage
        self._resource = resource
        self._folder = folder
        self._encoder: OnnxEncoder | None = None
        self._graph = ""  # the graph's identity: a vector crm_bridge sends is used only when it matches

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEmbeddingFeaturizer:
        """A featurizer about to be trained: the bundle comes from the configured folder."""
        return cls(config, execution_context.node_name, model_storage, resource, bundle_dir(config))

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SentenceEmbeddingFeaturizer:
        """A trained featurizer: its bundle is read from the model's own storage."""
        self = cls(config, execution_context.node_name, model_storage, resource, None)
        with model_storage.read_from(resource) as folder:
            self._encoder = OnnxEncoder(folder, folder / BUNDLE_GRAPH, threads=1)
            self._graph = graph_id(folder / BUNDLE_GRAPH)
        return self

    def train(self, training_data: TrainingData) -> Resource:
        """Copies the bundle into the model, so the trained model carries its encoder."""
        assert self._folder is not None
        with self._model_storage.write_to(self._resource) as target:
            for name in BUNDLE_FILES:
                shutil.copyfile(self._folder / name, target / name)
        return self._resource

    def _encode(self, messages: list[Message]) -> np.ndarray:
        if self._encoder is None:
            assert self._folder is not None
            # One thread: Rasa's server answers one message at a time and the other core serves the API.
            self._encoder = OnnxEncoder(self._folder, self._folder / BUNDLE_GRAPH, threads=1)
            self._graph = graph_id(self._folder / BUNDLE_GRAPH)
        texts = [m.get(TEXT) for m in messages]
        vectors = np.zeros((len(texts), self._encoder.dimension), dtype=np.float32)
        unknown = np.zeros(len(texts), dtype=np.float32)
        missing = []
        for row, message in enumerate(messages):
            found = self._shared(message, texts[row])
            if found is None:
                missing.append(row)
            else:
                vectors[row], unknown[row] = found
        if missing:
            vectors[missing], unknown[missing] = self._encoder.encode_with_unknown(
                [texts[r] for r in missing]
            )
        # A vector read mostly from unknown word pieces says nothing about the message (most Chinese
        # characters are unknown to this English model), yet all such messages look alike: zeros
        # instead (5-fold macro-F1 0.919 -> 0.921 on our data).
        vectors[unknown > float(self._config["max_unknown_share"])] = 0.0
        return vectors

    def _shared(self, message: Message, text: str) -> tuple[np.ndarray, float] | None:
        """The vector crm_bridge computed for this very text with this very graph (for sentiment), taken
        out of the metadata: one MiniLM pass per customer message, and 2 KB less in every tracker event
        (Rasa stores the metadata dict it gave the pipeline). None: encode here (docs/decisions/0018)."""
        metadata = message.get(METADATA)
        if not isinstance(metadata, dict) or METADATA_KEY not in metadata:
            return None
        assert self._encoder is not None
        payload = metadata.pop(METADATA_KEY)
        return unpack(payload, graph=self._graph, text=text, dimension=self._encoder.dimension)

    def _featurize(self, messages: list[Message]) -> None:
        with_text = [m for m in messages if m.get(TEXT)]
        if not with_text:
            return
        vectors = self._encode(with_text) * float(self._config["scale"])
        for message, vector in zip(with_text, vectors, strict=True):
            self.add_features_to_message(
                sequence=None, sentence=vector[None, :], attribute=TEXT, message=message
            )

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Features for every training example with text."""
        self._featurize(training_data.training_examples)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """Features for incoming messages."""
        self._featurize(messages)
        return messages
