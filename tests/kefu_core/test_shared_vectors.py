"""One MiniLM pass per customer message (kefu_core.encoding.shared): the vector handed on is the very vector a
fresh encoding gives, it is refused for another text or another graph, and the memory is bounded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kefu_core.encoding.embedder import default_model_path
from kefu_core.encoding.onnx import OnnxEncoder, open_encoder
from kefu_core.encoding.shared import METADATA_KEY, RememberingEncoder, graph_id, pack, text_id, unpack

TEXTS = [
    "Where is my parcel?",
    "我的快递什么时候到？",
    "Mixed 中英文 message 😀",
    "退货",
    "I can't log in!!!",
    "refund " * 300,  # longer than the model reads: truncated alike
]


@pytest.fixture(scope="module")
def int8() -> OnnxEncoder:
    return open_encoder(default_model_path(), int8=True, threads=1)


@pytest.fixture(scope="module")
def fp32() -> OnnxEncoder:
    return open_encoder(default_model_path(), threads=1)


def test_the_vector_handed_on_is_a_fresh_encodings_vector(int8: OnnxEncoder) -> None:
    remembering = RememberingEncoder(int8.encode_with_unknown, graph_id(int8.onnx_path))
    for text in TEXTS:
        given = remembering.encode([text])
        fresh = int8.encode([text])
        assert np.array_equal(given, fresh)  # the wrapper changes nothing it returns
        payload = remembering.recall(text)
        assert payload is not None
        found = unpack(payload, graph=remembering.graph, text=text, dimension=int8.dimension)
        assert found is not None
        vector, unknown = found
        assert vector.dtype == np.float32 and np.array_equal(
            vector, fresh[0]
        )  # the same numbers, bit for bit
        assert unknown == pytest.approx(float(int8.unknown_share([text])[0]), abs=0)


def test_one_tokenisation_gives_what_two_calls_gave(int8: OnnxEncoder) -> None:
    vectors, unknown = int8.encode_with_unknown(TEXTS)
    assert np.array_equal(vectors, int8.encode(TEXTS))
    assert np.array_equal(unknown, int8.unknown_share(TEXTS))
    assert unknown[1] > 0.5 > unknown[0]  # Chinese is mostly unknown word pieces to this English model


def test_another_text_or_language_is_not_served(int8: OnnxEncoder) -> None:
    remembering = RememberingEncoder(int8.encode_with_unknown, graph_id(int8.onnx_path))
    remembering.encode(["退货"])
    remembering.encode(["return"])
    assert remembering.recall("退货 ") is None and remembering.recall("Return") is None
    en, zh = remembering.recall("return"), remembering.recall("退货")
    assert en is not None and zh is not None
    # A payload says which text it is for: the featurizer refuses it for any other message.
    assert unpack(zh, graph=remembering.graph, text="return", dimension=int8.dimension) is None
    zh_vector = unpack(zh, graph=remembering.graph, text="退货", dimension=int8.dimension)
    assert zh_vector is not None and np.array_equal(zh_vector[0], int8.encode(["退货"])[0])


def test_another_models_vector_is_refused(int8: OnnxEncoder, fp32: OnnxEncoder) -> None:
    assert graph_id(int8.onnx_path) != graph_id(fp32.onnx_path)
    full = RememberingEncoder(fp32.encode_with_unknown, graph_id(fp32.onnx_path))
    full.encode(["Where is my parcel?"])
    payload = full.recall("Where is my parcel?")
    assert payload is not None
    # The fp32 vector differs from the int8 one the featurizer computes: it must not be taken for it.
    assert not np.array_equal(fp32.encode(["Where is my parcel?"]), int8.encode(["Where is my parcel?"]))
    assert unpack(payload, graph=graph_id(int8.onnx_path), text="Where is my parcel?", dimension=384) is None


def test_the_graph_id_is_the_files_content(tmp_path: Path, int8: OnnxEncoder) -> None:
    copy = tmp_path / "copy.onnx"
    copy.write_bytes(int8.onnx_path.read_bytes())
    assert graph_id(copy) == graph_id(int8.onnx_path)  # the copy inside a trained Rasa model matches
    import onnxruntime

    assert graph_id(copy).endswith(f"-ort{onnxruntime.__version__}")  # another runtime, other numbers
    changed = tmp_path / "changed.onnx"
    changed.write_bytes(int8.onnx_path.read_bytes()[:-1] + b"\x00")
    assert graph_id(changed) != graph_id(int8.onnx_path)


@pytest.mark.parametrize(
    "damage",
    [
        {"vector": "not base64!"},
        {"vector": ""},
        {"unknown": 1.5},
        {"unknown": "x"},
        {"text": text_id("something else")},
        {"graph": "0" * 16},
    ],
)
def test_damaged_payloads_are_refused(damage: dict[str, object]) -> None:
    vector = np.linspace(-1, 1, 8, dtype=np.float32)
    payload = {**pack(vector, 0.25, graph="g", text="hi"), **damage}
    assert unpack(payload, graph="g", text="hi", dimension=8) is None


def test_payload_checks() -> None:
    vector = np.linspace(-1, 1, 8, dtype=np.float32)
    payload = pack(vector, 0.25, graph="g", text="hi")
    found = unpack(payload, graph="g", text="hi", dimension=8)
    assert found is not None and np.array_equal(found[0], vector) and found[1] == 0.25
    assert unpack(payload, graph="g", text="hi", dimension=9) is None  # another model's width
    nan = pack(np.full(8, np.nan, dtype=np.float32), 0.0, graph="g", text="hi")
    assert unpack(nan, graph="g", text="hi", dimension=8) is None
    assert unpack(None, graph="g", text="hi", dimension=8) is None
    assert unpack("text", graph="g", text="hi", dimension=8) is None
    assert METADATA_KEY == "kefu_sentence_vector"


def test_the_memory_is_bounded_and_keeps_the_latest() -> None:
    calls: list[list[str]] = []

    def fake(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        calls.append(texts)
        return np.ones((len(texts), 4), dtype=np.float32) * len(calls), np.zeros(len(texts), np.float32)

    remembering = RememberingEncoder(fake, "g", size=3)
    for text in ["a", "b", "c", "d"]:
        remembering.encode([text])
    assert len(remembering) == 3 and remembering.recall("a") is None
    remembering.encode(["b"])  # used again: the newest now
    remembering.encode(["e"])
    assert remembering.recall("c") is None and remembering.recall("b") is not None
    remembering.encode(["x", "y"])  # a batch (training, evaluation) is not remembered
    assert remembering.recall("x") is None and len(remembering) == 3
    with pytest.raises(ValueError):
        RememberingEncoder(fake, "g", size=0)
