"""`kefu kb eval` and `kefu kb bench banking77`: measure retrieval on a throw-away index.

Neither command reads or writes the database or the running knowledge base.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

DATASETS = ("banking77",)


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _summary(report: dict[str, Any], title: str) -> None:
    """Print the headline numbers (the JSON file has everything)."""

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.2f} %"

    table = Table(title=title)
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("queries (answerable / not)", f"{report['n_answerable']} / {report['n_unanswerable']}")
    table.add_row("top-1", pct(report["top1"]))
    table.add_row("top-3", pct(report["top3"]))
    table.add_row("in-scope accuracy", pct(report["in_scope_accuracy"]))
    table.add_row("unanswerable -> none", pct(report["none_rate_unanswerable"]))
    table.add_row("decisions", ", ".join(f"{k} {v}" for k, v in report["decisions"].items()))
    lat = report["latency_ms"]
    table.add_row("latency p50 / p99", f"{lat['p50']} / {lat['p99']} ms")
    Console(stderr=True).print(table)


def _write_json(path: Path, report: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def kb_eval(args: argparse.Namespace) -> int:
    """Evaluate KB.jsonl against labelled queries; write JSON (and the threshold plot)."""
    from knowledge_base.evaluate import EvalInputError, evaluate, load_kb, load_queries
    from knowledge_base.plot import write_plot

    try:
        entries = load_kb(args.kb)
        queries = load_queries(args.queries, known_ids=(e.faq_id for e in entries))
    except EvalInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = evaluate(entries, queries)
    report["kb"], report["queries"] = str(args.kb), str(args.queries)
    _write_json(args.json, report)
    _summary(report, f"kb eval: {args.queries.name} against {args.kb.name}")
    if args.plot:
        title = f"{args.queries.name} vs {args.kb.name} ({report['n']} queries)"
        written = write_plot(args.plot, report["sweep"], report["answer_thresholds"], title=title)
        print(f"plot: {', '.join(map(str, written))}", file=sys.stderr)
    return 0


@contextmanager
def adapted_embedder(entries: Any, *, seed: int, epochs: int) -> Iterator[Any]:
    """The shipped model fine-tuned on `entries` (their own variants only), in a temporary folder
    that is removed when the block ends (each copy is ~90 MB)."""
    from rich.progress import Progress

    from kefu_core.encoding.embedder import Embedder, default_model_path
    from knowledge_base.adapt import adapt

    with tempfile.TemporaryDirectory(prefix="kefu-adapted-") as folder:
        out = Path(folder)
        with Progress(console=Console(stderr=True)) as progress:
            task = progress.add_task("adapting the embedder to the training variants", total=None)
            adapt(
                entries, default_model_path(), out, epochs=epochs, seed=seed,
                progress=lambda step, total: progress.update(task, completed=step, total=total),
            )  # fmt: skip
        yield Embedder(out)


def kb_bench(args: argparse.Namespace) -> int:
    """Evaluate on a public data set (BANKING77) and write JSON."""
    from knowledge_base.evaluate import EvalInputError, evaluate, load_banking77

    try:
        entries, queries = load_banking77(args.data, shots=args.shots, seed=args.seed)
    except EvalInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.adapt:
        with adapted_embedder(entries, seed=args.seed, epochs=args.epochs) as embedder:
            report = evaluate(entries, queries, embedder)
    else:
        report = evaluate(entries, queries, None)
    report.update(
        {"dataset": args.dataset, "shots": args.shots, "seed": args.seed, "adapted": bool(args.adapt)}
    )
    _write_json(args.json, report)
    shots = "full training set" if args.shots is None else f"{args.shots} per intent"
    _summary(report, f"kb bench {args.dataset} ({shots}, seed {args.seed})")
    return 0


def add_kb_eval_commands(kb_subparsers: Any) -> None:
    """Register `eval` and `bench` under `kefu kb` (`kb_subparsers` is its add_subparsers() result)."""
    ev = kb_subparsers.add_parser(
        "eval", help="accuracy and latency of a knowledge base file on labelled queries"
    )
    ev.add_argument("--kb", type=Path, required=True, help="entries, import format (JSONL with ids)")
    ev.add_argument("--queries", type=Path, required=True, help='JSONL lines {"text", "expected_id"}')
    ev.add_argument("--json", type=Path, required=True, help="where to write the results")
    ev.add_argument("--plot", type=Path, help="PNG of accuracy against the answer threshold (+ an SVG)")
    ev.set_defaults(func=kb_eval)

    bench = kb_subparsers.add_parser("bench", help="accuracy on a public intent data set")
    bench.add_argument("dataset", choices=DATASETS)
    bench.add_argument("--data", type=Path, required=True, help="the data set folder (train.csv, test.csv)")
    bench.add_argument("--shots", type=_positive, help="training texts per intent (default: all)")
    bench.add_argument("--seed", type=int, required=True, help="seed for sampling --shots")
    bench.add_argument("--json", type=Path, required=True, help="where to write the results")
    bench.add_argument(
        "--adapt",
        action="store_true",
        help="first fine-tune the embedder on the training variants (kb adapt)",
    )
    bench.add_argument("--epochs", type=_positive, default=2, help="fine-tuning epochs with --adapt")
    bench.set_defaults(func=kb_bench)


def main(argv: list[str] | None = None) -> int:
    """Standalone entry (`python -m kefu.kb_eval_cli eval ...`) until it is wired under `kefu kb`."""
    parser = argparse.ArgumentParser(prog="kefu kb")
    add_kb_eval_commands(parser.add_subparsers(dest="kb_command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
