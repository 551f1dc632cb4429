"""`kefu sentiment train|eval|analyse`: the default model from our data, and its measurement."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any


def _train(args: argparse.Namespace) -> int:
    from kefu_core.settings import get_settings
    from sentiment.encoder import sentence_encoder
    from sentiment.train import ensure_model

    started = time.perf_counter()
    model = get_settings().embedding_model or None
    encoder = sentence_encoder(model)
    path, trained = ensure_model(
        encoder.encode,
        embedding_model=model,
        encoder=encoder.name,
        force=args.force,
        progress=lambda line: print(f">> {line}", flush=True),
    )
    took = time.perf_counter() - started
    print(f"sentiment model {'trained' if trained else 'already cached'}: {path} ({took:.1f} s)")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from sentiment.analyser import get_analyser
    from sentiment.evaluate import console_progress, evaluate, load_sets
    from sentiment.plot import plot_confusion
    from sentiment.types import SentimentError

    try:
        sets = load_sets(Path(args.data))
    except (OSError, SentimentError, KeyError, ValueError) as exc:
        print(f"!! cannot read the evaluation data: {exc}", file=sys.stderr)
        return 2
    analyser = get_analyser()
    results = evaluate(analyser.analyse_many, sets, console_progress(sets))
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"backend": analyser.backend.name, **results}
    out.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    plot = Path(args.plot) if args.plot else out.with_suffix(".png")
    plot_confusion(results, plot)
    for name, result in results.items():
        print(
            f"{name:13} n={result['n']:5}  accuracy {result['accuracy']:.3f}  "
            f"macro-recall {result['macro_recall']:.3f}  macro-F1 {result['macro_f1']:.3f}"
        )
    print(f"results: {out}\nconfusion matrices: {plot}")
    return 0


def _analyse(args: argparse.Namespace) -> int:
    from sentiment.analyser import get_analyser
    from sentiment.types import SentimentError

    try:
        result = get_analyser().analyse(args.text, args.language)
    except SentimentError as exc:
        print(f"!! {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result.__dict__, ensure_ascii=False))
    return 0


def add_sentiment_commands(sub: Any) -> None:
    """Register `kefu sentiment train|eval|analyse`."""
    sentiment = sub.add_parser("sentiment", help="sentiment detection")
    sentiment_sub = sentiment.add_subparsers(dest="sentiment_command", required=True)
    train = sentiment_sub.add_parser("train", help="train the default model from sentiment/data (cached)")
    train.add_argument("--force", action="store_true", help="train again even when a cached model matches")
    train.set_defaults(func=_train)
    ev = sentiment_sub.add_parser("eval", help="measure on the development sets (TweetEval, ChnSentiCorp)")
    ev.add_argument("--data", required=True, help="the sentiment_dev folder (or one set's folder)")
    ev.add_argument("--json", required=True, help="where to write the results (JSON)")
    ev.add_argument("--plot", help="confusion-matrix PNG (default: beside the JSON, .png)")
    ev.set_defaults(func=_eval)
    one = sentiment_sub.add_parser("analyse", help="analyse one message")
    one.add_argument("text")
    one.add_argument("--language", choices=["en", "zh"])
    one.set_defaults(func=_analyse)
