"""kefu's own NLU components (bot/components/), run by Rasa 3.6 from .venv-rasa."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

from kefu.model import RASA_BIN, ensure_model, rasa_env
from kefu_core.paths import ROOT

RASA_PYTHON = RASA_BIN.parent / "python"


def _run(script: str, *args: str, env: dict[str, str] | None = None) -> dict:
    result = subprocess.run(
        [str(RASA_PYTHON), "-c", script, *args],
        cwd=ROOT, env=env or rasa_env(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_hand_scoring_equals_sklearn_and_neighbours_skip_themselves() -> None:
    """The classifier scores from stored arrays; it must give sklearn's own probabilities."""
    script = """
import json
import numpy as np
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression
from bot.components.intent_classifier import (
    SentenceIntentClassifier, best_by_class, lexical_units, nearest_by_class, _unit,
)

rng = np.random.default_rng(0)
out = {}
for n_classes in (2, 4):
    counts = rng.integers(0, 3, size=(60, 30)).astype(float)
    counts[0] = 0  # a message with no known n-gram
    sparse = csr_matrix(counts)
    dense = rng.normal(size=(60, 8)).astype(np.float32)
    labels = np.arange(60) % n_classes
    clf_self = SentenceIntentClassifier.__new__(SentenceIntentClassifier)
    # Different weights for the two nearest-example blocks, so that swapping them shows.
    clf_self.config = {**SentenceIntentClassifier.get_default_config(), "lexical_knn_weight": 2.0}
    unit, lexical = _unit(dense), lexical_units(sparse)
    near = nearest_by_class(unit, unit, labels, n_classes, skip_self=True)
    lexical_near = nearest_by_class(lexical, lexical, labels, n_classes, skip_self=True)
    X = clf_self._matrix(sparse, dense, near, lexical_near)
    clf = LogisticRegression(C=5.0, max_iter=2000, class_weight="balanced").fit(X, labels)
    coef, intercept = clf.coef_, clf.intercept_
    if n_classes == 2:  # as train() stores it
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    clf_self.examples, clf_self.example_labels = unit, labels
    clf_self._set_lexical(lexical)
    clf_self.classes = np.arange(n_classes).astype(object)
    clf_self._set_weights(coef, intercept)
    mine = clf_self.scores(sparse, dense)
    # At run time a message is compared with every stored example (none of them is itself).
    X_run = clf_self._matrix(
        sparse, dense, nearest_by_class(unit, unit, labels, n_classes),
        nearest_by_class(lexical, lexical, labels, n_classes),
    )
    out[str(n_classes)] = float(np.abs(mine - clf.predict_proba(X_run)).max())
# skip_self: an example's own similarity (1.0) is never its nearest neighbour
unit = _unit(np.eye(3, dtype=np.float32))
out["self"] = nearest_by_class(unit, unit, np.array([0, 1, 2]), 3, skip_self=True).max().item()
# the same through sparse similarities (the lexical block in training)
eye = csr_matrix(np.eye(3))
out["self_sparse"] = best_by_class(eye @ eye.T, np.array([0, 1, 2]), 3, skip_self=True).max().item()
# a row with a repeated column index (non-canonical csr) is the same as its summed form
repeated = csr_matrix((np.array([1.0, 2.0, 4.0]), np.array([0, 0, 2]), np.array([0, 3])), shape=(1, 3))
summed = lexical_units(csr_matrix(np.array([[3.0, 0.0, 4.0]])))
out["repeated"] = float(abs(lexical_units(repeated) - summed).max())
# lexical units: log(1 + count), unit length; a repeated word counts less than a new one
units = lexical_units(csr_matrix(np.array([[3.0, 0.0, 4.0], [0.0, 0.0, 0.0]])))
out["norm"] = float(np.linalg.norm(units[0].toarray()))
out["ratio"] = float(units[0, 2] / units[0, 0])
out["empty"] = float(abs(units[1].toarray()).sum())
print(json.dumps(out))
"""
    out = _run(script)
    assert out["2"] < 1e-6 and out["4"] < 1e-6
    assert out["self"] < 0.5  # orthogonal vectors: without skip_self the maximum would be 1.0
    assert out["self_sparse"] < 0.5
    assert out["repeated"] < 1e-12
    assert abs(out["norm"] - 1.0) < 1e-9
    assert abs(out["ratio"] - math.log(5) / math.log(4)) < 1e-9  # not 4 / 3: counts are log-scaled
    assert out["empty"] == 0.0  # a message with no known n-gram has no neighbours, not NaNs


def test_trained_classifier_survives_save_and_load() -> None:
    """train() on featurized messages, then load() from the model storage: the same probabilities."""
    script = """
import json, tempfile
from pathlib import Path
import numpy as np
from scipy.sparse import csr_matrix
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from bot.components.intent_classifier import SentenceIntentClassifier

rng = np.random.default_rng(1)
def message(i, intent):
    m = Message(data={TEXT: f"text {i}", INTENT: intent})
    counts = rng.integers(0, 3, size=(1, 20)).astype(float)
    counts[0, i % 3] += 3  # each intent has a word of its own
    m.add_features(Features(csr_matrix(counts), "sentence", TEXT, "cv"))
    m.add_features(Features(rng.normal(size=(1, 6)).astype(np.float32), "sentence", TEXT, "vec"))
    return m
messages = [message(i, ["a", "b", "c"][i % 3]) for i in range(45)]
storage = LocalModelStorage(Path(tempfile.mkdtemp()))
resource, context = Resource("clf"), ExecutionContext(GraphSchema({}), "x")
config = {**SentenceIntentClassifier.get_default_config(), "lexical_knn_weight": 2.0}
trained = SentenceIntentClassifier.create(config, storage, resource, context)
trained.train(TrainingData(training_examples=messages))
loaded = SentenceIntentClassifier.load(config, storage, resource, context)
before, after = trained.probabilities(messages), loaded.probabilities(messages)
hits = float((before.argmax(axis=1) == np.arange(45) % 3).mean())
print(json.dumps({"diff": float(abs(before - after).max()), "classes": list(loaded.classes), "fit": hits}))
"""
    out = _run(script)
    assert out["classes"] == ["a", "b", "c"]
    assert out["diff"] < 1e-12
    assert out["fit"] > 0.9  # it learned its own training set: the arrays it stored are used


def test_the_trained_model_carries_its_sentence_encoder() -> None:
    """A trained model parses with no bundle folder named: its copy of the encoder is inside it."""
    model = ensure_model()
    script = """
import asyncio, json, sys
from rasa.core.agent import Agent

async def main():
    agent = Agent.load(sys.argv[1])
    out = {}
    for text in sys.argv[2:]:
        parsed = await agent.parse_message(text)
        out[text] = [parsed["intent"]["name"], parsed["intent"]["confidence"]]
    print(json.dumps(out))

asyncio.run(main())
"""
    env = rasa_env()
    env.pop("KEFU_SENTENCE_ENCODER_DIR")
    texts = ["talk to a human", "我要投诉，快递员态度太差了", "Which team won the world cup in 1998?"]
    out = _run(script, str(model), *texts, env=env)
    assert out[texts[0]][0] == "request_human"
    assert out[texts[1]][0] == "complain"
    # An off-topic question is a question (FAQ action, then the fallback chain), not a complaint.
    assert out[texts[2]][0] == "ask_faq"
    assert all(0.0 <= conf <= 1.0 for _, conf in out.values())


def test_training_without_the_bundle_names_the_fix() -> None:
    script = """
import json
from bot.components.sentence_embeddings import bundle_dir
try:
    bundle_dir({})
    print(json.dumps({"error": None}))
except ValueError as exc:
    print(json.dumps({"error": str(exc)}))
"""
    env = {k: v for k, v in rasa_env().items() if k != "KEFU_SENTENCE_ENCODER_DIR"}
    out = _run(script, env=env)
    assert out["error"] and "KEFU_SENTENCE_ENCODER_DIR" in out["error"]
    assert "kefu model ensure" in out["error"]


def test_the_featurizer_takes_crm_bridges_vector_and_parses_the_same(tmp_path: Path) -> None:
    """The vector crm_bridge computed for sentiment (int8, the same graph) gives Rasa's featurizer exactly
    what it would compute itself: the same intents and confidences on our customer test set. A vector for
    another text is ignored, a wrong one with the right checks changes results (so it is really used), and
    the vector is taken out of the metadata (not stored with the tracker's event)."""
    from kefu_core.encoding.embedder import default_model_path
    from kefu_core.encoding.onnx import open_encoder
    from kefu_core.encoding.shared import graph_id, pack

    texts = []
    for language in ("en", "zh"):
        lines = (ROOT / "testsets" / "customer_messages" / f"{language}.jsonl").read_text().splitlines()
        texts += [json.loads(line)["text"].strip() for line in lines[:40]]
    encoder = open_encoder(default_model_path(), int8=True, threads=1)
    graph = graph_id(encoder.onnx_path)
    cases = []
    for text in texts:
        vectors, unknown = encoder.encode_with_unknown([text])
        cases.append(
            {
                "text": text,
                "right": pack(vectors[0], float(unknown[0]), graph=graph, text=text),
                "other_text": pack(vectors[0] * 0 + 1 / 384**0.5, 0.0, graph=graph, text=text + "!"),
                "wrong": pack(-vectors[0], float(unknown[0]), graph=graph, text=text),
            }
        )
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(cases))
    script = """
import asyncio, json, sys
from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage

async def main():
    agent = Agent.load(sys.argv[1])
    out = []
    for case in json.load(open(sys.argv[2])):
        row = {}
        for kind in ("none", "right", "other_text", "wrong"):
            metadata = {} if kind == "none" else {"kefu_sentence_vector": case[kind]}
            parsed = await agent.processor.parse_message(UserMessage(case["text"], metadata=metadata))
            row[kind] = [[i["name"], i["confidence"]] for i in parsed["intent_ranking"]]
            row[kind + "_left"] = "kefu_sentence_vector" in metadata
        out.append(row)
    print(json.dumps(out))

asyncio.run(main())
"""
    rows = _run(script, str(ensure_model()), str(path))
    assert len(rows) == len(texts)
    for row in rows:
        assert row["right"] == row["none"]  # the same intents, the same confidences to the last digit
        assert row["other_text"] == row["none"]  # a vector for another text is not used
        assert not row["right_left"] and not row["other_text_left"]  # taken out of the metadata
    rasa_runtime = _run("import json, onnxruntime; print(json.dumps({'v': onnxruntime.__version__}))")["v"]
    import onnxruntime

    changed = sum(row["wrong"] != row["none"] for row in rows)
    if rasa_runtime == onnxruntime.__version__:
        # Used: only the English messages' vectors count (most Chinese ones are zeroed as unknown).
        assert changed >= 20
    else:
        # Another ONNX Runtime computes other int8 numbers: the featurizer encodes itself (decision 0018).
        assert changed == 0
