"""`kefu kb eval` and `kefu kb bench banking77|banking77-open|atec`: measure retrieval on a throw-away index.

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

DATASETS = ("banking77", "banking77-open", "atec")


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _known_ratio(value: str) -> float:
    try:
        ratio = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 0 < ratio < 1:
        raise argparse.ArgumentTypeError(
            f"must be between 0 and 1 (exclusive), e.g. 0.25, 0.5 or 0.75; got {value}"
        )
    return ratio


def _open_quantile(value: str) -> float:
    try:
        quantile = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 0 <= quantile < 0.5:
        raise argparse.ArgumentTypeError(f"must be at least 0 and below 0.5, e.g. 0.10; got {value}")
    return quantile


def open_quantile_of(args: argparse.Namespace) -> float:
    """--open-quantile when given, else the app's setting (KEFU_KB_OPEN_QUANTILE)."""
    from kefu_core.settings import get_settings

    return float(args.open_quantile if args.open_quantile is not None else get_settings().kb_open_quantile)


OPEN_QUANTILE_HELP = (
    "open-intent abstention: refuse when the top entry's calibrated evidence is below Q, about the share "
    "of in-scope questions refused (0: off; default KEFU_KB_OPEN_QUANTILE, as the app uses it: 0.10)"
)


def pct(value: float | None) -> str:
    """0.1234 -> '12.34 %' ('-' for no data)."""
    return "-" if value is None else f"{100 * value:.2f} %"


def _summary(report: dict[str, Any], title: str) -> None:
    """Print the headline numbers (the JSON file has everything)."""
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
    for key, value in (report.get("open_intent") or {}).items():
        table.add_row(f"open intent: {key.replace('_', ' ')}", pct(value))
    Console(stderr=True).print(table)


def _write_json(path: Path, report: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def configured_models(embedder: Any = None) -> tuple[Any, dict[str, Any]]:
    """The embedder to evaluate with (`embedder`, else KEFU_EMBEDDING_MODEL's) and the languages with a
    model of their own (KEFU_EMBEDDING_MODEL_ZH), as the app would search them.

    Nothing set: (None, {}), so `evaluate` keeps its own default, the same shipped model.
    Raises ValueError naming the setting when a folder is not a sentence-transformers model."""
    from kefu_core.encoding.embedder import shared_embedder
    from kefu_core.settings import get_settings
    from knowledge_base import runtime

    settings = get_settings()
    models = settings.language_embedding_models
    if embedder is None and (settings.embedding_model or models):
        embedder = shared_embedder(settings.embedding_model or None)
    return embedder, runtime.language_embedders(embedder, models) if models else {}


def kb_eval(args: argparse.Namespace) -> int:
    """Evaluate KB.jsonl against labelled queries; write JSON (and the threshold plot)."""
    from knowledge_base.evaluate import evaluate, load_kb, load_queries
    from knowledge_base.plot import write_plot

    try:
        entries = load_kb(args.kb)
        queries = load_queries(args.queries, known_ids=(e.faq_id for e in entries))
        embedder, encoders = configured_models()
    except ValueError as exc:  # EvalInputError, or a model setting that names no sentence model
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = evaluate(entries, queries, embedder, encoders=encoders, open_quantile=open_quantile_of(args))
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


def _flag_errors(args: argparse.Namespace) -> str | None:
    """A message when a flag does not apply to the data set (argparse cannot tell per data set)."""
    if args.dataset == "banking77-open" and args.known_ratio is None:
        return "banking77-open needs --known-ratio (e.g. 0.25, 0.5 or 0.75)"
    if args.dataset != "banking77-open" and args.known_ratio is not None:
        return "--known-ratio applies to banking77-open only"
    if args.dataset != "banking77" and args.shots is not None:
        return "--shots applies to banking77 only"
    if args.dataset != "atec" and args.groups is not None:
        return "--groups applies to atec only"
    if args.dataset == "atec" and args.open_quantile is not None:
        return "--open-quantile does not apply to atec (it measures the ranking, not the decision)"
    if args.dataset == "atec" and args.adapt:
        return "--adapt does not apply to atec (most groups have no variants to learn from)"
    return None


def _atec_summary(report: dict[str, Any], seed: int) -> None:
    table = Table(
        title=f"kb bench atec ({report['groups']} of {report['groups_in_file']} groups, seed {seed})"
    )
    for column in ("method", "top-1", "top-3"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for label, key in (
        ("kefu", "kefu"),
        ("character TF-IDF", "tfidf_char"),
        ("BM25, jieba words", "bm25_jieba"),
    ):
        table.add_row(label, pct(report[key]["top1"]), pct(report[key]["top3"]))
    table.add_row("kefu / TF-IDF, top-1", f"{report['top1_ratio_vs_tfidf']}x", "")
    Console(stderr=True).print(table)


def kb_bench(args: argparse.Namespace) -> int:
    """Evaluate on a public data set (BANKING77, its open-intent protocol, or ATEC) and write JSON."""
    from knowledge_base.atec import run_atec
    from knowledge_base.banking77 import load_banking77, load_banking77_open
    from knowledge_base.evaluate import EvalInputError, evaluate

    problem = _flag_errors(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        embedder, encoders = configured_models()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        if args.dataset == "atec":
            report = run_atec(
                args.data, seed=args.seed, groups=args.groups or 2000, embedder=embedder, encoders=encoders
            )
            report["dataset"] = args.dataset
            _write_json(args.json, report)
            _atec_summary(report, args.seed)
            return 0
        if args.dataset == "banking77-open":
            entries, queries = load_banking77_open(args.data, known_ratio=args.known_ratio, seed=args.seed)
        else:
            entries, queries = load_banking77(args.data, shots=args.shots, seed=args.seed)
    except EvalInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.adapt:
        with adapted_embedder(entries, seed=args.seed, epochs=args.epochs) as adapted:
            _, own = configured_models(adapted)
            report = evaluate(entries, queries, adapted, encoders=own, open_quantile=open_quantile_of(args))
    else:
        report = evaluate(entries, queries, embedder, encoders=encoders, open_quantile=open_quantile_of(args))
    report.update(
        {"dataset": args.dataset, "shots": args.shots, "seed": args.seed, "adapted": bool(args.adapt)}
    )
    if args.dataset == "banking77-open":
        report["known_ratio"] = args.known_ratio
        report["known_intents"] = sorted(e.faq_id for e in entries)
        detail = f"{len(entries)} known intents, ratio {args.known_ratio}"
    else:
        detail = "full training set" if args.shots is None else f"{args.shots} per intent"
    _write_json(args.json, report)
    _summary(report, f"kb bench {args.dataset} ({detail}, seed {args.seed})")
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
    ev.add_argument(
        "--open-quantile", type=_open_quantile, default=None, metavar="Q", help=OPEN_QUANTILE_HELP
    )
    ev.set_defaults(func=kb_eval)

    bench = kb_subparsers.add_parser("bench", help="accuracy on a public intent data set")
    bench.add_argument("dataset", choices=DATASETS)
    bench.add_argument(
        "--data",
        type=Path,
        required=True,
        help="the data set folder (banking77: train.csv, test.csv; atec: atec_nlp_sim_train.csv)",
    )
    bench.add_argument("--shots", type=_positive, help="banking77: training texts per intent (default: all)")
    bench.add_argument(
        "--known-ratio",
        type=_known_ratio,
        help="banking77-open: share of the 77 intents in the knowledge base (0.25, 0.5, 0.75 in the paper)",
    )
    bench.add_argument("--groups", type=_positive, help="atec: paraphrase groups to sample (default: 2000)")
    bench.add_argument(
        "--seed", type=int, required=True, help="seed for sampling (--shots, the known intents, the groups)"
    )
    bench.add_argument("--json", type=Path, required=True, help="where to write the results")
    bench.add_argument(
        "--adapt",
        action="store_true",
        help="first fine-tune the embedder on the training variants (kb adapt)",
    )
    bench.add_argument("--epochs", type=_positive, default=2, help="fine-tuning epochs with --adapt")
    bench.add_argument(
        "--open-quantile", type=_open_quantile, default=None, metavar="Q", help=OPEN_QUANTILE_HELP
    )
    bench.set_defaults(func=kb_bench)


def main(argv: list[str] | None = None) -> int:
    """Standalone entry (`python -m kefu.kb_eval_cli eval ...`) until it is wired under `kefu kb`."""
    parser = argparse.ArgumentParser(prog="kefu kb")
    add_kb_eval_commands(parser.add_subparsers(dest="kb_command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
