"""`kefu kb …`: import and export the knowledge base from files; evaluate retrieval."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

console = Console(stderr=True)


def _format(path: Path, given: str | None) -> str | None:
    if given:
        return given
    suffix = path.suffix.lower()
    return "csv" if suffix == ".csv" else "jsonl" if suffix in (".jsonl", ".json", ".ndjson") else None


def _import(args: argparse.Namespace) -> int:
    from sqlalchemy.orm import Session

    from crm_bridge.audit import service as audit
    from crm_bridge.migrate import upgrade
    from kefu_core.db import make_engine
    from kefu_core.errors import DomainError
    from kefu_core.settings import get_settings
    from knowledge_base import curation

    path = Path(args.file)
    fmt = _format(path, args.format)
    if fmt is None:
        console.print(f"[red]cannot tell the format of {path.name}[/]: use --format jsonl|csv")
        return 2
    if not path.is_file():
        console.print(f"[red]no such file:[/] {path}")
        return 2
    try:
        rows = curation.parse_import(path.read_bytes(), fmt)
    except DomainError as exc:
        console.print(f"[red]{exc.message}[/]")
        for bad in exc.details or []:
            console.print(f"  row {bad['row']}: " + "; ".join(bad["errors"]))
        return 1
    url = get_settings().database_url
    upgrade(url)
    engine = make_engine(url)
    created = updated = 0
    try:
        with Session(engine) as session, Progress(console=console) as progress:
            task = progress.add_task(f"importing {path.name}", total=len(rows))
            for row in rows:  # one transaction for all rows: all or nothing
                c, u = curation.import_rows(session, [row], author_id=None)
                created, updated = created + c, updated + u
                progress.advance(task)
            audit.record(
                session,
                None,
                audit.cli_operator(),
                action="kb.import",
                target_type="faq",
                details={"format": fmt, "created": created, "updated": updated, "via": "cli"},
            )
            session.commit()
    except DomainError as exc:
        console.print(f"[red]{exc.message}[/] (nothing was imported)")
        return 1
    finally:
        engine.dispose()
    print(
        f"imported {created + updated} entries ({created} new, {updated} updated); "
        "running servers pick them up within seconds"
    )
    return 0


def _export(args: argparse.Namespace) -> int:
    from sqlalchemy.orm import Session

    from kefu_core.db import make_engine
    from kefu_core.settings import get_settings
    from knowledge_base import curation

    path = Path(args.file)
    fmt = _format(path, args.format)
    if fmt is None:
        console.print(f"[red]cannot tell the format of {path.name}[/]: use --format jsonl|csv")
        return 2
    engine = make_engine(get_settings().database_url)
    try:
        with Session(engine) as session, console.status("exporting"):
            text = curation.export(session, fmt)
    finally:
        engine.dispose()
    path.write_text(text, encoding="utf-8")
    lines = text.count("\n") - (1 if fmt == "csv" else 0)
    print(f"exported {lines} entries to {path}")
    return 0


def _reindex(args: argparse.Namespace) -> int:
    import time

    from sqlalchemy.orm import Session

    from crm_bridge.migrate import upgrade
    from kefu_core.db import make_engine
    from kefu_core.settings import get_settings
    from knowledge_base import runtime

    settings = get_settings()
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    # One store per model: a language with its own model (KEFU_EMBEDDING_MODEL_ZH) is cleared and filled too.
    retriever = runtime.open_retriever(
        settings.embedding_model, settings.language_embedding_models, root=runtime.index_dir()
    )
    caches = retriever.vector_caches()
    if not args.keep_vectors:
        for cache in caches:
            cache.clear()  # every text is embedded again, with the model as it is now
    try:
        with Session(engine) as session:
            docs = runtime.entry_docs(session)
            version = runtime.current_version(session)
        texts = sum(len(d.texts) for d in docs)
        started = time.perf_counter()
        with Progress(console=console) as progress:
            task = progress.add_task(f"indexing {len(docs)} entries", total=texts)
            retriever.build(docs, progress=lambda n: progress.advance(task, n))
        took = time.perf_counter() - started
    finally:
        engine.dispose()
    retriever.source_version = version
    runtime.write_manifest(retriever)
    rate = texts / took if took > 0 else 0.0
    for language, info in retriever.stats().items():
        print(f"{language}: {info['entries']} entries, {info['texts']} texts, {info['index']} index")
    embedded = sum(cache.embedded_total for cache in caches)
    roots = ", ".join(str(cache.root) for cache in caches)
    print(
        f"indexed {texts} texts in {took:.1f} s ({rate:.0f} texts/s; {embedded} embedded) "
        f"into {roots}; running servers keep their own index up to date"
    )
    return 0


def _adapt(args: argparse.Namespace) -> int:
    from sqlalchemy.orm import Session

    from kefu_core.db import make_engine
    from kefu_core.encoding.embedder import default_model_path
    from kefu_core.paths import var_dir
    from kefu_core.settings import get_settings
    from knowledge_base import runtime
    from knowledge_base.adapt import adapt, fingerprint

    settings = get_settings()
    base = Path(args.base or settings.embedding_model or default_model_path())
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            docs = runtime.entry_docs(session)
    finally:
        engine.dispose()
    if not docs:
        console.print("[red]no published entries to learn from[/]")
        return 1
    out = (
        Path(args.out)
        if args.out
        else var_dir() / "models" / f"kb-embedder-{fingerprint(docs, base, args.epochs, args.seed)}"
    )
    with Progress(console=console) as progress:
        task = progress.add_task(f"fine-tuning on {len(docs)} entries", total=None)
        try:
            report = adapt(
                docs, base, out, epochs=args.epochs, seed=args.seed,
                progress=lambda step, total: progress.update(task, completed=step, total=total),
            )  # fmt: skip
        except ValueError as exc:
            console.print(f"[red]{exc}[/]")
            return 1
    print(
        f"adapted {report.base_model} on {report.texts} texts in {report.seconds:.0f} s "
        f"({report.steps} steps, final loss {report.final_loss}) -> {report.model_path}\n"
        f"use it: KEFU_EMBEDDING_MODEL={report.model_path} (then restart; the index re-embeds once)"
    )
    return 0


def add_kb_commands(sub: Any) -> None:
    """Register `kefu kb import|export|reindex|adapt|eval|bench`."""
    kb = sub.add_parser("kb", help="the knowledge base")
    kb_sub = kb.add_subparsers(dest="kb_command", required=True)
    imp = kb_sub.add_parser("import", help="import entries from JSONL or CSV (all rows or none)")
    imp.add_argument("file")
    imp.add_argument("--format", choices=["jsonl", "csv"])
    imp.set_defaults(func=_import)
    exp = kb_sub.add_parser("export", help="export every entry to JSONL or CSV")
    exp.add_argument("file")
    exp.add_argument("--format", choices=["jsonl", "csv"])
    exp.set_defaults(func=_export)
    rei = kb_sub.add_parser("reindex", help="rebuild the stored search index from the published entries")
    rei.add_argument(
        "--keep-vectors", action="store_true", help="reuse stored vectors (default: embed every text again)"
    )
    rei.set_defaults(func=_reindex)
    ada = kb_sub.add_parser("adapt", help="fine-tune the embedding model on the published entries' variants")
    ada.add_argument("--epochs", type=int, default=2)
    ada.add_argument("--seed", type=int, default=0)
    ada.add_argument("--base", help="model folder to start from (default: the configured model)")
    ada.add_argument("--out", help="where to save the model (default: var/models/kb-embedder-<hash>)")
    ada.set_defaults(func=_adapt)
    from kefu.kb_eval_cli import add_kb_eval_commands

    add_kb_eval_commands(kb_sub)
