"""`make bench` rows for the customer-message test set read by the whole bot (issue 20): intent, FAQ decision
and sentiment, per language and per category.

A message is right when the bot would take the labelled path (the intent, through Rasa's NLU on a running
stack), the FAQ search gives the labelled decision and entry when the path is the knowledge base, and the
sentiment label matches. The set is evaluation only; this module (a `kefu/bench*` file) and the tests are
the only code allowed to name it (tests/testsets/test_customer_messages.py checks that).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx
from rich.progress import track

from actions.steps import reads_as_praise
from kefu.benchlib import fresh_stack, machine, now_iso, write_doc_section, yes_no
from kefu.model import ensure_model
from kefu_core.language import detect_language
from kefu_core.paths import ROOT

SET_DIR = ROOT / "testsets" / "customer_messages"
LANGUAGES = ("en", "zh")
TARGET_ACCURACY = 0.95
OUT_OF_SCOPE_TARGET = 0.85  # issue 20: our out-of-scope questions, both languages
# The intents whose rule runs action_answer_faq (bot/data/rules/faq.yml): the same path for the customer.
FAQ_PATH = frozenset({"ask_faq", "inform", "nlu_fallback"})


def path_of(intent: str) -> str:
    """The path the rules take for an intent: the FAQ search for the FAQ intents, else the intent itself."""
    return "faq" if intent in FAQ_PATH else intent


def load(path: Path) -> list[dict[str, Any]]:
    """The labelled rows of one language's file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def acted_on(intent: str, sentiment: str) -> str:
    """The intent the bot acts on: the complaint action thanks a positive message instead
    (`actions.steps.reads_as_praise`)."""
    return "thanks" if intent == "complain" and reads_as_praise(sentiment) else intent


def judge(row: dict[str, Any], intent: str, search: dict[str, Any] | None, sentiment: str) -> dict[str, bool]:
    """Which parts of a message the bot read right: path (intent), FAQ decision, sentiment, and all three."""
    path_ok = path_of(acted_on(intent, sentiment)) == path_of(row["intent"])
    faq_ok = True
    if row["faq"] is not None and path_ok:
        expected = row["faq"]
        decision = (search or {}).get("decision")
        results = (search or {}).get("results") or []
        faq_ok = decision == expected["decision"]
        if faq_ok and expected["decision"] == "answer":
            accepted = {expected["expected_id"], *expected.get("also_accept", [])}
            faq_ok = bool(results) and results[0]["faq_id"] in accepted
    sentiment_ok = sentiment == row["sentiment"]
    return {"path": path_ok, "faq": path_ok and faq_ok, "sentiment": sentiment_ok,
            "all": path_ok and faq_ok and sentiment_ok}  # fmt: skip


def _tally(cells: Iterable[tuple[str, dict[str, bool]]]) -> dict[str, dict[str, Any]]:
    table: dict[str, dict[str, Any]] = {}
    for key, verdict in cells:
        cell = table.setdefault(key, {"n": 0, "path": 0, "faq": 0, "sentiment": 0, "all": 0})
        cell["n"] += 1
        for part, ok in verdict.items():
            cell[part] += ok
    for cell in table.values():
        cell["accuracy"] = round(cell["all"] / cell["n"], 4)
        for part in ("path", "faq", "sentiment"):
            cell[f"{part}_accuracy"] = round(cell[part] / cell["n"], 4)
    return dict(sorted(table.items()))


def _refusals(refused: list[bool]) -> dict[str, Any]:
    rate = round(sum(refused) / len(refused), 4) if refused else None
    return {"n": len(refused), "none": sum(refused), "none_rate": rate,
            "met": rate is not None and rate >= OUT_OF_SCOPE_TARGET}  # fmt: skip


def read_language(client: httpx.Client, rasa: httpx.Client, rows: list[dict[str, Any]], language: str) -> Any:
    """(row, intent, search, sentiment) for every message, through the running stack."""
    for row in track(rows, description=f"customer messages ({language})"):
        parsed = rasa.post("/model/parse", json={"text": row["text"]})
        parsed.raise_for_status()
        intent = parsed.json()["intent"]["name"]
        search = None
        spoken = detect_language(row["text"])  # as the chat flow does, for the search and the sentiment
        if path_of(intent) == "faq":
            found = client.get("/api/v1/kb/search", params={"q": row["text"], "lang": spoken, "k": 3})
            found.raise_for_status()
            search = found.json()
        mood = client.post("/api/v1/sentiment", json={"text": row["text"], "language": spoken})
        mood.raise_for_status()
        yield row, intent, search, mood.json()["label"]


def run(out: Path, folder: Path = SET_DIR) -> dict[str, Any]:
    """Every message of each language through a fresh stack; accuracy overall, per part and per category."""
    token = secrets.token_urlsafe(32)
    stack = fresh_stack(out, "messages-stack", ensure_model(), env={"KEFU_SERVICE_TOKEN": token})
    print(">> messages: starting Rasa, the action server and crm_bridge", flush=True)
    stack.start(timeout=300)
    by_language: dict[str, Any] = {}
    misses: dict[str, list[dict[str, Any]]] = {}
    try:
        headers = {"Authorization": f"Bearer {token}"}
        with (
            httpx.Client(base_url=stack.api_url, timeout=30, headers=headers) as client,
            httpx.Client(
                base_url=stack.rasa_url, timeout=30, headers={"Authorization": f"Bearer {stack.rasa_token}"}
            ) as rasa,
        ):
            for language in LANGUAGES:
                path = folder / f"{language}.jsonl"
                if not path.is_file():
                    continue
                cells, wrong, refused = [], [], []
                for row, intent, search, sentiment in read_language(client, rasa, load(path), language):
                    verdict = judge(row, intent, search, sentiment)
                    cells.append((row["category"], verdict))
                    if row["faq"] is not None and row["faq"]["decision"] == "none":
                        refused.append(verdict["faq"])  # a question the base does not cover: `none`?
                    if not verdict["all"]:
                        top = (search or {}).get("results") or [{}]
                        wrong.append({"id": row["id"], "intent": intent, "sentiment": sentiment,
                                      "decision": (search or {}).get("decision"), "top": top[0].get("faq_id"),
                                      **{f"{k}_ok": v for k, v in verdict.items()}})  # fmt: skip
                overall = _tally(("all", v) for _, v in cells)["all"]
                by_language[language] = {
                    **overall,
                    "met": overall["accuracy"] >= TARGET_ACCURACY,
                    "by_category": _tally(cells),
                    "out_of_scope": _refusals(refused),
                }
                misses[language] = wrong
    finally:
        stack.stop()
    result = {
        "benchmark": "customer_messages",
        "by_language": by_language,
        "misses": misses,
        "target_accuracy": TARGET_ACCURACY,
        "met": all(m["met"] for m in by_language.values()) and bool(by_language),
        "machine": machine(),
        "measured_at": now_iso(),
    }
    write_doc(result)
    return result


def write_doc(result: dict[str, Any]) -> None:
    """The docs/benchmarks.md section: per language, then per category."""
    lines = [
        "Our own customer-message test set (`testsets/customer_messages/`, evaluation only) read by the "
        "running bot: Rasa's intent (the path its rules take; `inform` and a low-confidence fallback go to "
        "the knowledge base like `ask_faq`; a complaint read from a positive message is thanked), the FAQ "
        "decision and top entry for knowledge-base questions, and the sentiment label. A message is right "
        "when all three are.",
        "",
        "| language | messages | right (all three) | path | FAQ decision | sentiment | target | met |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for language, m in result["by_language"].items():
        lines.append(
            f"| {language} | {m['n']} | {100 * m['accuracy']:.1f} % | {100 * m['path_accuracy']:.1f} % "
            f"| {100 * m['faq_accuracy']:.1f} % | {100 * m['sentiment_accuracy']:.1f} % "
            f"| ≥ {100 * result['target_accuracy']:.0f} % | {yes_no(m['met'])} |"
        )
    for language, m in result["by_language"].items():
        oos = m.get("out_of_scope") or {}
        if oos.get("n"):
            lines.append(
                f"\nOut-of-scope questions ({language}: shop questions the demo base does not answer, and "
                f"off-topic ones): {oos['none']} of {oos['n']} answered `none` "
                f"({100 * oos['none_rate']:.1f} %; target ≥ {100 * OUT_OF_SCOPE_TARGET:.0f} %, "
                f"met: {yes_no(oos['met'])})."
            )
    lines += ["", "| category | " + " | ".join(result["by_language"]) + " |",
              "| --- |" + " --- |" * len(result["by_language"])]  # fmt: skip
    categories = sorted({c for m in result["by_language"].values() for c in m["by_category"]})
    for category in categories:
        cells = []
        for m in result["by_language"].values():
            cell = m["by_category"].get(category)
            cells.append(f"{100 * cell['accuracy']:.1f} % (n={cell['n']})" if cell else "—")
        lines.append(f"| {category} | " + " | ".join(cells) + " |")
    lines += ["", f"{result['measured_at']}; misses listed in `var/bench/messages.json`."]
    write_doc_section("messages", "Customer messages: intent, FAQ decision and sentiment", lines)
