"""`make bench`: every benchmark, results as JSON under var/bench/ and tables in docs/benchmarks.md."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kefu import (
    bench_channels,
    bench_chat,
    bench_crm,
    bench_dialogue,
    bench_handoff,
    bench_kb,
    bench_messages,
    bench_reports,
    bench_scale,
    bench_security,
    bench_sentiment,
)
from kefu.benchlib import write_result
from kefu_core.paths import ROOT

BENCHES: dict[str, Callable[[Path], dict[str, Any]]] = {
    "channels": bench_channels.run,
    "chat": bench_chat.run,
    "crm": bench_crm.run,
    "dialogue": bench_dialogue.run,
    "handoff": bench_handoff.run,
    "kb": bench_kb.run,
    "messages": bench_messages.run,
    "reports": bench_reports.run,
    "scale": bench_scale.run,
    "security": bench_security.run,
    "sentiment": bench_sentiment.run,
}


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks (all by default)."""
    parser = argparse.ArgumentParser(prog="kefu-bench")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument("--only", choices=sorted(BENCHES), action="append", help="run just these")
    args = parser.parse_args(argv)
    for name in args.only or list(BENCHES):
        result = BENCHES[name](args.out)
        path = write_result(args.out, name, result)
        print(f">> {name}: {path}")
        print(json.dumps(result, indent=2, ensure_ascii=False)[:1500])
    return 0


if __name__ == "__main__":
    sys.exit(main())
