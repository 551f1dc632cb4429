"""The Rasa project itself, run by Rasa 3.6 from .venv-rasa: data validation, test stories, metadata slots."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from kefu.model import RASA_BIN, ensure_model, rasa_env
from kefu_core.paths import ROOT

STORIES = Path(__file__).with_name("test_stories.yml")
RASA_PYTHON = RASA_BIN.parent / "python"


def _rasa(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RASA_BIN), *args], cwd=ROOT, env=rasa_env(), capture_output=True, text=True, timeout=timeout
    )


def test_training_data_validates() -> None:
    result = _rasa(
        "data", "validate", "--domain", "bot/domain.yml", "--data", "bot/data", "--config", "config.yml"
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert " ERROR " not in output, output[-3000:]
    assert "No story structure conflicts found" in output


def test_every_intent_has_25_examples_per_language() -> None:
    script = (
        "import json, re, sys\n"
        "from rasa.shared.nlu.training_data.loading import load_data\n"
        "data = load_data('bot/data/nlu')\n"
        "han = re.compile(r'[\\u3400-\\u9fff]')\n"
        "counts = {}\n"
        "for m in data.intent_examples:\n"
        "    lang = 'zh' if han.search(m.get('text')) else 'en'\n"
        "    key = m.get('intent') + '/' + lang\n"
        "    counts[key] = counts.get(key, 0) + 1\n"
        "print(json.dumps(counts))\n"
    )
    result = subprocess.run(
        [str(RASA_PYTHON), "-c", script],
        cwd=ROOT,
        env=rasa_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    counts = json.loads(result.stdout.strip().splitlines()[-1])
    intents = {key.split("/")[0] for key in counts}
    assert len(intents) >= 15
    short = {f"{i}/{lang}": counts.get(f"{i}/{lang}", 0) for i in intents for lang in ("en", "zh")}
    assert {k: v for k, v in short.items() if v < 25} == {}


def test_test_stories_pass_without_a_prediction_error(tmp_path: Path) -> None:
    model = ensure_model(quiet=True)
    result = _rasa(
        "test", "core", "--model", str(model), "--stories", str(STORIES),
        "--fail-on-prediction-errors", "--out", str(tmp_path),
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    failed = tmp_path / "failed_test_stories.yml"
    assert not failed.exists() or "- story:" not in failed.read_text(), failed.read_text()


@pytest.mark.parametrize(
    ("metadata", "text", "expected"),
    [
        ({"language": "zh", "conversation_id": "c1", "contact_id": 7}, "你好", {
            "language": "zh", "conversation_id": "c1", "contact_id": "7", "sentiment": "neutral"}),
        # A phone number or a button click says nothing about the language: the slot keeps its value.
        ({"language": "en", "contact_id": 7}, "138 0013 8000", {"contact_id": "7", "sentiment": "neutral"}),
        ({"language": "en"}, "/request_human", {"sentiment": "neutral"}),
        ({"language": "fr", "sentiment": "negative"}, "bonjour", {"sentiment": "negative"}),
        ({"language": "en", "sentiment": "weird"}, "hello", {"language": "en", "sentiment": "neutral"}),
    ],
)  # fmt: skip
def test_metadata_becomes_entities(metadata: dict, text: str, expected: dict) -> None:
    script = (
        "import json, sys\n"
        "from bot.components.metadata_entities import metadata_entities\n"
        "found = metadata_entities(json.loads(sys.argv[1]), sys.argv[2])\n"
        "print(json.dumps({e['entity']: e['value'] for e in found}))\n"
    )
    result = subprocess.run(
        [str(RASA_PYTHON), "-c", script, json.dumps(metadata), text],
        cwd=ROOT, env=rasa_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == expected
