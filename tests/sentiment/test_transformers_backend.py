"""The transformers backend with a tiny BERT this test builds and saves: the real loading code runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from sentiment.analyser import Analyser, build_backend
from sentiment.backends import TransformersBackend
from sentiment.types import SentimentError

WORDS = ["good", "bad", "service", "slow", "thanks", "broken", "great", "the", "was", "很", "好", "差"]


def tiny_model(folder: Path, id2label: dict[int, str]) -> Path:
    """A randomly initialised one-layer BERT classifier with its own word-piece vocabulary."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    torch.manual_seed(0)
    folder.mkdir(parents=True)
    vocab = folder / "vocab.txt"
    vocab.write_text(
        "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n", encoding="utf-8"
    )
    tokenizer = BertTokenizer(str(vocab))
    config = BertConfig(
        vocab_size=len(WORDS) + 5,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        num_labels=len(id2label),
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
    )
    BertForSequenceClassification(config).save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


def test_a_three_label_model_answers(tmp_path: Path) -> None:
    folder = tiny_model(tmp_path / "m3", {0: "negative", 1: "neutral", 2: "positive"})
    analyser = Analyser(build_backend("transformers", str(folder)))
    assert analyser.backend.name == "transformers"
    results = analyser.analyse_many(["good service, thanks", "slow and broken", "服务很差", "😡" * 5000])
    for result in results:
        assert result.label in {"negative", "neutral", "positive"}
        assert -1 <= result.score <= 1 and 0 < result.confidence <= 1
    assert results[2].language == "zh"


def test_label_names_map_to_ours(tmp_path: Path) -> None:
    folder = tiny_model(tmp_path / "m2", {0: "POSITIVE", 1: "NEGATIVE"})  # an unusual order
    backend = TransformersBackend(folder)
    assert backend.columns == [2, 0]
    probs = backend.probabilities(["good", "bad"], "en")
    assert probs.shape == (2, 3)
    assert (probs[:, 1] == 0).all()  # a two-label model never says neutral
    assert abs(probs.sum(axis=1) - 1).max() < 1e-5


def test_unnamed_two_labels_mean_negative_then_positive(tmp_path: Path) -> None:
    folder = tiny_model(tmp_path / "m2u", {0: "LABEL_0", 1: "LABEL_1"})
    assert TransformersBackend(folder).columns == [0, 2]


def test_missing_folder_or_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        TransformersBackend(tmp_path / "nothing-here")
    with pytest.raises(SentimentError, match="KEFU_SENTIMENT_MODEL_PATH"):
        build_backend("transformers", "")
    with pytest.raises(SentimentError, match="unknown sentiment backend"):
        build_backend("onnx")
