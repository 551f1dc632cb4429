"""The one language rule, against the cases the widget's JavaScript copy is tested with too."""

import json
from pathlib import Path
from typing import Any

import pytest

from kefu_core.language import carries_language, detect_language

CASES_FILE = Path(__file__).parents[1] / "fixtures" / "language_cases.json"
CASES: dict[str, Any] = json.loads(CASES_FILE.read_text())


@pytest.mark.parametrize("case", CASES["detect"], ids=lambda c: c["text"] or "<empty>")
def test_detect_language(case: dict[str, str]) -> None:
    assert detect_language(case["text"]) == case["language"]


@pytest.mark.parametrize("case", CASES["default_without_letters"], ids=lambda c: c["text"])
def test_default_applies_only_without_letters(case: dict[str, str]) -> None:
    assert detect_language(case["text"], default=case["default"]) == case["language"]


@pytest.mark.parametrize("case", CASES["carries"], ids=lambda c: c["text"])
def test_carries_language(case: dict[str, Any]) -> None:
    assert carries_language(case["text"]) is case["carries"]
