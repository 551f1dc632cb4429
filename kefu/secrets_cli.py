"""`kefu secrets new-key | check | rotate`: the keys of KEFU_ENCRYPTION_KEY and the columns they encrypt."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sqlalchemy.orm import Session

from crm_bridge.audit import service as audit
from crm_bridge.encrypted_columns import ColumnReport, survey
from crm_bridge.migrate import upgrade
from kefu_core.db import make_engine
from kefu_core.settings import get_settings, new_encryption_key


def secrets_new_key(args: argparse.Namespace) -> int:
    """Print a fresh Fernet key (nothing is stored)."""
    print(new_encryption_key())
    return 0


def _run(*, rewrite: bool) -> list[ColumnReport]:
    url = get_settings().database_url
    upgrade(url)  # like `kefu users create`: works on a database that was never migrated
    engine = make_engine(url)
    try:
        reports = survey(engine, rewrite=rewrite)
        if rewrite:  # a rotation changes stored secrets: on the record, without any value
            with Session(engine) as session:
                audit.record(
                    session,
                    None,
                    audit.cli_operator(),
                    action="secrets.rotate",
                    details={
                        "rotated": sum(r.rotated for r in reports),
                        "unreadable": sum(len(r.unreadable) for r in reports),
                        "via": "cli",
                    },
                )
                session.commit()
        return reports
    finally:
        engine.dispose()


def _print(reports: list[ColumnReport], *, rewrite: bool) -> int:
    """One line per column; 1 (with the fix) when a row no listed key opens."""
    keys = len(get_settings().encryption_keys)
    print(f"KEFU_ENCRYPTION_KEY lists {keys} key{'s' if keys != 1 else ''}; the first encrypts")
    failed = False
    for r in reports:
        line = f"{r.column}: {r.current} under the first key, {r.older} under an older key"
        if rewrite:
            line += f", {r.rotated} re-encrypted with the first key"
        if r.unreadable:
            failed = True
            line += f", {len(r.unreadable)} unreadable (rows {', '.join(r.unreadable[:20])})"
        print(line)
    if failed:
        print(
            "error: some values open with no key in KEFU_ENCRYPTION_KEY: list the key they were encrypted "
            "with (after the first) and run the command again",
            file=sys.stderr,
        )
        return 1
    if not rewrite and any(r.older for r in reports):
        print("run `kefu secrets rotate` before removing the older keys")
    return 0


def secrets_check(args: argparse.Namespace) -> int:
    """Count the values each encrypted column holds under the first key, an older one, or none."""
    return _print(_run(rewrite=False), rewrite=False)


def secrets_rotate(args: argparse.Namespace) -> int:
    """Re-encrypt every value an older key opens with the first key of KEFU_ENCRYPTION_KEY."""
    return _print(_run(rewrite=True), rewrite=True)


def add_secrets_commands(subparsers: Any) -> None:
    """Register `secrets new-key`, `secrets check` and `secrets rotate` on the `kefu` subcommand parsers."""
    group = subparsers.add_parser("secrets", help="encryption of secrets stored in the database")
    sub = group.add_subparsers(dest="secrets_command", required=True)
    sub.add_parser("new-key", help="print a new key for KEFU_ENCRYPTION_KEY").set_defaults(
        func=secrets_new_key
    )
    sub.add_parser(
        "check", help="count values under the first key, an older key, or none (exit 1 if any is unreadable)"
    ).set_defaults(func=secrets_check)
    sub.add_parser(
        "rotate", help="re-encrypt every value with the first key of KEFU_ENCRYPTION_KEY"
    ).set_defaults(func=secrets_rotate)
