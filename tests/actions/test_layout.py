"""The action package's shape: every action bot/domain.yml names is served, and feature modules share
their steps through actions.steps instead of importing each other."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml
from rasa_sdk.executor import ActionExecutor

import actions
from kefu_core.paths import ROOT

PACKAGE = Path(actions.__file__).parent
SHARED = {"actions.common", "actions.clients", "actions.steps"}
FEATURES = ("faq", "tickets", "handoff", "feedback", "contact")


def _kefu_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {n for n in names if n.split(".")[0] in ("actions", "kefu_core")}


def test_every_domain_action_is_served() -> None:
    domain = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text(encoding="utf-8"))
    executor = ActionExecutor()
    executor.register_package("actions")
    assert set(domain["actions"]) <= set(executor.actions)


def test_feature_modules_import_only_the_shared_modules() -> None:
    for feature in FEATURES:
        imported = _kefu_imports(PACKAGE / f"{feature}.py")
        stray = {n for n in imported if n.startswith("actions") and n not in SHARED}
        assert not stray, f"actions.{feature} imports {stray}"
