"""`make bench --only security` (issue 22): sign-in throughput and chat latency of the checkout against the
commit before the security work, measured in the same run, rounds interleaved (baseline, current,
baseline, ...) so the machine's noise reaches both; "unchanged" means within the spread between rounds.

Both versions are real uvicorn crm_bridge servers on loopback with their own SQLite database and a fake
Rasa (tests/fakes) that answers at once, so only crm_bridge's own cost is measured. While one version is
measured the other is paused (SIGSTOP)."""

from __future__ import annotations

import json
from pathlib import Path
from statistics import median
from typing import Any

from kefu import bench_security_load as load
from kefu.bench_security_servers import PASSWORD, Version, Worktree
from kefu.benchlib import latency_summary, machine, now_iso, write_doc_section

# The last commit before any issue-22 work (issue 21's job queue came after it too); the last commit before
# REST chat moved to the queue (most of the sign-in work in, no audit log yet); HEAD.
# (name, commit, what it holds); the ones between the first and the last attribute the difference.
VERSIONS = [
    ("baseline", "6a9a057", "before all of issue 22 and before issue 21's job queue"),
    ("pre-queue", "269d810", "sign-in throttle, hash slots, TOTP check, sessions, CSRF, body limits, log "
     "redaction, signed ids; REST chat still answered inside the request"),
    ("queue", "9983e47", "the same plus REST chat through the job queue (issue 21); no audit log, customer "
     "rate limit, erasure or secrets at rest yet"),
    ("current", "HEAD", "everything"),
]  # fmt: skip
MIDDLE = [name for name, _, _ in VERSIONS[1:-1]]
EXPECTED_SOURCES = {name: "older" if name == "baseline" else "security" for name, _, _ in VERSIONS}
ACCOUNTS = [f"bench-admin-{i}" for i in range(4)]
LOGIN_CLIENTS = {1: 12, 4: 6}  # clients at once: sign-ins each
WRONG = (4, 4)  # wrong-password attempts: clients, attempts each
CHAT = {1: 10, 8: 24}  # customers at once: customers in all
TURNS = 4  # per customer: one new conversation, three follow-ups
BLOCKS = [("login", "1"), ("login", "4"), ("login", "wrong4"), ("chat", "1"), ("chat", "8")]

# (key, label, higher is better, where in one round's result)
MEASURES: list[tuple[str, str, bool, tuple[str, ...]]] = [
    ("login1_rate", "sign-ins/s, 1 client", True, ("login", "1", "per_second")),
    ("login1_p50", "sign-in p50 ms, 1 client", False, ("login", "1", "latency_ms", "p50")),
    ("login4_rate", "sign-ins/s, 4 clients", True, ("login", "4", "per_second")),
    ("login4_p50", "sign-in p50 ms, 4 clients", False, ("login", "4", "latency_ms", "p50")),
    ("login4_p95", "sign-in p95 ms, 4 clients", False, ("login", "4", "latency_ms", "p95")),
    ("wrong4_rate", "wrong passwords/s, 4 clients", True, ("login", "wrong4", "per_second")),
    ("wrong4_p50", "wrong password p50 ms, 4 clients", False, ("login", "wrong4", "latency_ms", "p50")),
    (
        "chat1_new_p50",
        "chat new conversation p50 ms, 1 customer",
        False,
        ("chat", "1", "new_conversation_ms", "p50"),
    ),
    ("chat1_follow_p50", "chat follow-up p50 ms, 1 customer", False, ("chat", "1", "follow_up_ms", "p50")),
    ("chat1_follow_p95", "chat follow-up p95 ms, 1 customer", False, ("chat", "1", "follow_up_ms", "p95")),
    (
        "chat8_new_p50",
        "chat new conversation p50 ms, 8 customers",
        False,
        ("chat", "8", "new_conversation_ms", "p50"),
    ),
    (
        "chat8_new_p95",
        "chat new conversation p95 ms, 8 customers",
        False,
        ("chat", "8", "new_conversation_ms", "p95"),
    ),
    ("chat8_follow_p50", "chat follow-up p50 ms, 8 customers", False, ("chat", "8", "follow_up_ms", "p50")),
    ("chat8_follow_p95", "chat follow-up p95 ms, 8 customers", False, ("chat", "8", "follow_up_ms", "p95")),
    ("chat8_rate", "chat turns/s, 8 customers", True, ("chat", "8", "per_second")),
]


def pick(result: dict[str, Any], path: tuple[str, ...]) -> float:
    """The number at `path` in one round's result."""
    value: Any = result
    for key in path:
        value = value[key]
    return float(value)


def relative_spread(values: list[float]) -> float:
    """(max - min) / median of one version's rounds: the noise estimate (0 for fewer than two rounds)."""
    if len(values) < 2 or median(values) == 0:
        return 0.0
    return (max(values) - min(values)) / median(values)


def paired_ratios(base: list[float], current: list[float]) -> list[float]:
    """current/baseline within each round (the two were measured moments apart), round by round."""
    return [round(c / b, 3) if b else float("inf") for b, c in zip(base, current, strict=True)]


def compare(base: list[float], current: list[float], higher_is_better: bool) -> dict[str, Any]:
    """Medians, current/baseline, the larger round spread of the two as noise, and a verdict: 'within
    noise' when |ratio - 1| is at most the noise, else 'better' or 'worse'."""
    base_med, cur_med = median(base), median(current)
    ratio = cur_med / base_med if base_med else float("inf")
    noise = max(relative_spread(base), relative_spread(current))
    if abs(ratio - 1) <= noise:
        verdict = "within noise"
    else:
        verdict = "better" if (ratio > 1) == higher_is_better else "worse"
    return {
        "baseline_median": round(base_med, 2),
        "current_median": round(cur_med, 2),
        "ratio": round(ratio, 3),
        "noise": round(noise, 3),
        "verdict": verdict,
    }


def measure(version: Version, kind: str, key: str, tag: str, turn_mark: list[int]) -> dict[str, Any]:
    """One block of one round: sign-ins ("login", "1" / "4" / "wrong4") or chat ("chat", "1" / "8")."""
    if kind == "login" and key == "wrong4":
        return load.logins(
            version.url, ACCOUNTS, PASSWORD, clients=WRONG[0], per_client=WRONG[1], wrong_tag=tag
        )
    if kind == "login":
        clients = int(key)
        return load.logins(
            version.url, ACCOUNTS, PASSWORD, clients=clients, per_client=LOGIN_CLIENTS[clients]
        )
    concurrency = int(key)
    result = load.chat(
        version.url, concurrency=concurrency, customers=CHAT[concurrency], turns=TURNS, prefix=f"{tag}-c{key}"
    )
    worker_ms, turn_mark[0] = version.turn_times_ms(turn_mark[0])
    if worker_ms:  # the queued version: stored-to-finished time of the same turns, inside the server
        result["turn_stored_to_finished_ms"] = latency_summary(worker_ms)
    return result


def _round(versions: list[Version], number: int, marks: dict[str, list[int]]) -> list[dict[str, Any]]:
    """Each block for every version back to back (the versions' order turning each round), so the
    machine's load at that moment reaches all of them; the versions not measured are paused."""
    order = versions[(number - 1) % len(versions) :] + versions[: (number - 1) % len(versions)]
    rows: dict[str, dict[str, Any]] = {
        v.name: {"version": v.name, "round": number, "login": {}, "chat": {}} for v in versions
    }
    for kind, key in BLOCKS:
        for version in order:
            others = [v for v in versions if v is not version]
            for other in others:
                other.pause()
            try:
                tag = f"{version.name}-r{number}"
                rows[version.name][kind][key] = measure(version, kind, key, tag, marks[version.name])
            finally:
                for other in others:
                    other.resume()
    return list(rows.values())


def _warm_up(version: Version) -> None:
    load.logins(version.url, ACCOUNTS, PASSWORD, clients=1, per_client=2)
    load.chat(version.url, concurrency=2, customers=4, turns=2, prefix=f"{version.name}-warm")


def run(out: Path, rounds: int = 5) -> dict[str, Any]:
    """Every version of VERSIONS, `rounds` interleaved rounds each; results and the docs table."""
    trees = {name: Worktree(commit) for name, commit, _ in VERSIONS}
    versions: list[Version] = []
    try:
        for name, tree in trees.items():
            versions.append(Version(name, tree.add(), out / f"security-{name}", ACCOUNTS))
        for version in versions:
            print(
                f">> security: preparing and starting {version.name} ({trees[version.name].sha})", flush=True
            )
            version.prepare()
            version.start()
        sources = {v.name: v.source() for v in versions}
        if sources != EXPECTED_SOURCES:
            raise RuntimeError(f"the servers do not run the expected code: {sources}")
        marks: dict[str, list[int]] = {}
        for version in versions:
            _warm_up(version)
            marks[version.name] = [version.turn_times_ms(0)[1]]  # warm-up turns left out
        results = []
        for number in range(1, rounds + 1):
            print(f">> security: round {number} of {rounds}", flush=True)
            results += _round(versions, number, marks)
    finally:
        for version in versions:
            version.stop()
        for tree in trees.values():
            tree.remove()
    shas = {name: tree.sha for name, tree in trees.items()}
    # The raw rounds first: a report can be written again from them (_report) without measuring again.
    (out / "security-rounds.json").write_text(json.dumps({"shas": shas, "rounds": results}, indent=1))
    return _report(results, rounds, shas)


def _report(results: list[dict[str, Any]], rounds: int, shas: dict[str, str]) -> dict[str, Any]:
    by = {name: [r for r in results if r["version"] == name] for name, _, _ in VERSIONS}
    rows: dict[str, Any] = {}
    for key, label, higher, path in MEASURES:
        values = {name: [pick(r, path) for r in rs] for name, rs in by.items()}
        middle = {name: compare(values["baseline"], values[name], higher) for name in MIDDLE}
        rows[key] = {
            "label": label,
            **values,
            **compare(values["baseline"], values["current"], higher),
            "middle": {
                name: {k: m[k] for k in ("current_median", "ratio", "verdict")} for name, m in middle.items()
            },
            "paired_ratios": paired_ratios(values["baseline"], values["current"]),
        }
    errors = {
        name: sum(x["errors"] for r in rs for x in [*r["login"].values(), *r["chat"].values()])
        for name, rs in by.items()
    }
    queue = {
        c: {
            "request_p50": median(r["chat"][c]["latency_ms"]["p50"] for r in by["current"]),
            "stored_to_finished_p50": median(
                r["chat"][c]["turn_stored_to_finished_ms"]["p50"] for r in by["current"]
            ),
        }
        for c in map(str, CHAT)
        if all("turn_stored_to_finished_ms" in r["chat"][c] for r in by["current"])
    }
    stamp = now_iso()
    result = {
        "benchmark": "security",
        "commits": shas,
        "rounds": results,
        "comparison": rows,
        "errors": errors,
        "current_queue_split": queue,
        "machine": machine(),
        "measured_at": stamp,
    }
    lines = _doc_lines(rows, errors, queue, rounds, stamp, shas)
    write_doc_section("security", "Security work (issue 22): sign-in and chat cost", lines)
    return result


def _cell(values: list[float]) -> str:
    return ", ".join(f"{v:g}" for v in values)


def _doc_lines(
    rows: dict[str, Any],
    errors: dict[str, int],
    queue: dict[str, Any],
    rounds: int,
    stamp: str,
    shas: dict[str, str],
) -> list[str]:
    middle_heads = "".join(f"| {name} median (/baseline) " for name in MIDDLE)
    lines = [
        f"| measure | baseline rounds | current rounds | baseline median {middle_heads}"
        "| current median | current/baseline | noise (round spread) | verdict | paired ratios (min–max) |",
        "| --- " * (9 + len(MIDDLE)) + "|",
    ]
    for row in rows.values():
        verdict = row["verdict"] if row["verdict"] != "worse" else "**worse**"
        lines.append(
            f"| {row['label']} | {_cell(row['baseline'])} | {_cell(row['current'])} "
            f"| {row['baseline_median']} "
            + "".join(f"| {m['current_median']} ({m['ratio']}) " for m in row["middle"].values())
            + f"| {row['current_median']} | {row['ratio']} | ±{row['noise']:.0%} | {verdict} "
            f"| {min(row['paired_ratios']):g}–{max(row['paired_ratios']):g} |"
        )
    lines.append("")
    for c, q in queue.items():
        lines.append(
            f"- current, {c} customer(s) at once: request p50 {q['request_p50']} ms; the same turns from "
            f"stored to finished (queue wait and the worker) p50 {q['stored_to_finished_p50']} ms."
        )
    failed = ", ".join(f"{name} {n}" for name, n in errors.items())
    worse = [row["label"] for row in rows.values() if row["verdict"] == "worse"]
    lines += [
        f"- beyond the noise, current worse than baseline: {'; '.join(worse) if worse else 'nothing'}.",
        f"- failed requests: {failed}.",
        "",
        f"{stamp}, {machine()['cpus']} cores shared with other work. {len(VERSIONS)} versions, each a git "
        "worktree: " + "; ".join(f"{name} {shas[name]} ({what})" for name, _, what in VERSIONS) + ". "
        "Each is a uvicorn crm_bridge on loopback started with the command line its own kefu.stack builds, "
        "over a fresh SQLite database migrated by its own code, with four admin accounts created by its own "
        "`kefu users create`, and a fake Rasa that echoes at once (tests/fakes/rasa_server.py), so Rasa's "
        f"time is left out. {rounds} rounds; within a round each block (sign-ins at 1 and 4 clients, wrong "
        "passwords, chat at 1 and 8 customers) runs for every version back to back, their order turning "
        "each round, and the versions not being measured are paused with SIGSTOP. "
        "Sign-ins: POST /api/v1/auth/token (form "
        "fields, as all versions take it) with the right password, taken in turn over the four accounts "
        "(successful sign-ins never lock; spreading them keeps the lockout rules out of the picture); wrong "
        "passwords use a new name and a new X-Forwarded-For address per attempt, so every attempt is hashed "
        "and recorded and none is locked (401, never 429). Chat: POST /api/v1/chat, "
        f"{TURNS} turns per customer (the first opens a conversation). Noise is the larger (max - min) / "
        'median over the rounds of baseline and current; "within noise" means |current/baseline - 1| is at '
        "most that; the paired ratios are current/baseline within each round (measured seconds apart). "
        "The chat difference includes issue 21's move to the job queue, not only the security "
        "work: the middle versions' columns attribute it (`var/bench/security.json`).",
    ]
    return lines
