"""The `kefu` command line."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Sequence

from kefu_core.paths import var_dir


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _run(args: argparse.Namespace) -> int:
    from kefu.bootstrap import prepare_database
    from kefu.model import ensure_model
    from kefu.stack import Ports, Stack
    from kefu_core.settings import get_settings

    settings = get_settings()
    print(">> database: migrating and seeding", flush=True)
    prepared = prepare_database(
        settings.database_url, seed=settings.seed_demo, demo_users=settings.env == "development"
    )
    if prepared.faqs_added:
        print(f"   seeded {prepared.faqs_added} demo FAQ entries", flush=True)
    if prepared.facts_rebuilt:
        print(f"   built the report rollup of {prepared.facts_rebuilt} existing conversations", flush=True)
    model = ensure_model()
    stack = Stack(model=model, ports=Ports(args.rasa_port, args.actions_port, args.api_port), var=var_dir())
    print(">> starting Rasa, the action server and crm_bridge (Rasa needs about 30 s)", flush=True)
    try:
        stack.start(timeout=args.timeout, progress=True)
    except RuntimeError as exc:
        print(f"!! {exc}", file=sys.stderr)
        return 1
    creds = var_dir() / "demo-credentials.txt"
    print(
        "\nkefu is running:\n"
        f"  chat API      POST {stack.api_url}/api/v1/chat\n"
        f"  health        {stack.api_url}/healthz\n"
        f"  API docs      {stack.api_url}/docs\n"
        f"  Rasa          {stack.rasa_url}\n"
        f"  action server {stack.actions_url}\n"
        f"  logs          {var_dir() / 'logs'}\n"
        + (f"  demo accounts {creds}\n" if creds.exists() else "")
        + "Press Ctrl-C to stop.",
        flush=True,
    )
    # Handle both explicitly: a process started in the background inherits SIGINT as ignored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        while True:
            for service in stack.services:
                if service.proc is not None and service.proc.poll() is not None:
                    print(f"!! {service.name} stopped unexpectedly:\n{service.tail()}", file=sys.stderr)
                    return 1
            time.sleep(1)
    except KeyboardInterrupt:
        print("\n>> stopping", flush=True)
        return 0
    finally:
        stack.stop()


def _db_upgrade(args: argparse.Namespace) -> int:
    from kefu.bootstrap import prepare_database
    from kefu_core.settings import get_settings

    prepare_database(get_settings().database_url, seed=False)
    print("database is at the latest schema")
    return 0


def _seed(args: argparse.Namespace) -> int:
    from kefu.bootstrap import prepare_database
    from kefu_core.settings import get_settings

    settings = get_settings()
    # Demo accounts only in development: production accounts are made with passwords their owners choose.
    prepared = prepare_database(settings.database_url, seed=True, demo_users=settings.env == "development")
    print(
        f"added {prepared.faqs_added} FAQ entries"
        + (f"; accounts in {prepared.credentials_file}" if prepared.credentials_file else "")
    )
    return 0


def _model(args: argparse.Namespace) -> int:
    from kefu.model import ensure_model

    print(ensure_model())
    return 0


def _users_create(args: argparse.Namespace) -> int:
    from sqlalchemy.orm import Session

    from crm_bridge.audit import service as audit
    from crm_bridge.migrate import upgrade
    from crm_bridge.users import service
    from crm_bridge.users.models import Role
    from kefu_core.db import make_engine
    from kefu_core.errors import DomainError
    from kefu_core.settings import get_settings

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        import getpass

        password = getpass.getpass(f"password for {args.username}: ")
    languages = [lang.strip() for lang in args.languages.split(",") if lang.strip()]
    if bad := [lang for lang in languages if lang not in ("en", "zh")]:
        print(f"unknown language(s): {', '.join(bad)} (use en, zh)", file=sys.stderr)
        return 2
    url = get_settings().database_url
    upgrade(url)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            user = service.create(
                session, username=args.username, password=password, role=Role(args.role), languages=languages
            )
            session.flush()
            audit.record(
                session,
                None,
                audit.cli_operator(),
                action="user.create",
                target_type="user",
                target_id=user.id,
                details={"role": user.role.value, "via": "cli"},
            )
            session.commit()
            print(f"created {user.role.value} {user.username!r} (id {user.id})")
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (subcommands)."""
    parser = argparse.ArgumentParser(prog="kefu", description="kefu customer-service assistant")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="migrate, seed, train if needed, and run Rasa + actions + crm_bridge")
    run.add_argument("--rasa-port", type=int, default=5005)
    run.add_argument("--actions-port", type=int, default=5055)
    run.add_argument("--api-port", type=int, default=8000)
    run.add_argument("--timeout", type=float, default=240.0, help="seconds to wait for readiness")
    run.set_defaults(func=_run)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply Alembic migrations").set_defaults(func=_db_upgrade)

    sub.add_parser("seed", help="migrate and load demo data into an empty database").set_defaults(func=_seed)

    model = sub.add_parser("model", help="the Rasa model")
    model_sub = model.add_subparsers(dest="model_command", required=True)
    model_sub.add_parser("ensure", help="train only if bot/ or config.yml changed").set_defaults(func=_model)
    users = sub.add_parser("users", help="agent and admin accounts")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    create = users_sub.add_parser("create", help="create an account")
    create.add_argument("--role", choices=["admin", "agent"], required=True)
    create.add_argument("--username", required=True)
    create.add_argument("--languages", default="en", help="comma-separated: en,zh")
    create.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    create.set_defaults(func=_users_create)
    from kefu.users_cli import add_user_security_commands

    add_user_security_commands(users_sub)
    from kefu.channels_cli import add_channels_commands
    from kefu.jobs_cli import add_jobs_commands
    from kefu.kb_cli import add_kb_commands
    from kefu.outbox_cli import add_outbox_commands
    from kefu.reports_cli import add_reports_commands
    from kefu.secrets_cli import add_secrets_commands
    from kefu.sentiment_cli import add_sentiment_commands

    add_outbox_commands(sub)
    add_jobs_commands(sub)
    add_channels_commands(sub)
    add_kb_commands(sub)
    add_sentiment_commands(sub)
    add_secrets_commands(sub)
    add_reports_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `kefu` console script."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
