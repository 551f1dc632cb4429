"""`kefu users unlock` and `kefu users reset-mfa`: an operator's way back in for a locked-out user."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def _database() -> Any:
    from crm_bridge.migrate import upgrade
    from kefu_core.db import make_engine
    from kefu_core.settings import get_settings

    url = get_settings().database_url
    upgrade(url)
    return make_engine(url)


def _unlock(args: argparse.Namespace) -> int:
    from sqlalchemy.orm import Session

    from crm_bridge.audit import service as audit
    from crm_bridge.users import service, throttle

    engine = _database()
    try:
        with Session(engine) as session:
            cleared = throttle.clear_account(session, username=args.username)
            user = service.get_by_username(session, args.username)
            audit.record(
                session,
                None,
                audit.cli_operator(),
                action="user.unlock",
                target_type="user",
                target_id=user.id if user is not None else None,
                details={"cleared": cleared, "via": "cli"},
            )
            session.commit()
    finally:
        engine.dispose()
    # The per-address count is left alone: it protects every account, not this one.
    print(f"unlocked {args.username!r} ({cleared} recent failed sign-ins forgotten)")
    return 0


def _reset_mfa(args: argparse.Namespace) -> int:
    from sqlalchemy.orm import Session

    from crm_bridge.audit import service as audit
    from crm_bridge.users import mfa, service, sessions

    engine = _database()
    try:
        with Session(engine) as session:
            user = service.get_by_username(session, args.username)
            if user is None:
                print(f"error: no account {args.username!r}", file=sys.stderr)
                return 1
            mfa.reset(session, user=user)
            ended = sessions.revoke_all(session, user_id=user.id)
            audit.record(
                session,
                None,
                audit.cli_operator(),
                action="user.mfa_reset",
                target_type="user",
                target_id=user.id,
                details={"sessions_ended": ended, "via": "cli"},
            )
            session.commit()
    finally:
        engine.dispose()
    print(
        f"two-factor sign-in removed for {args.username!r}; {ended} sessions ended (sign in and enrol again)"
    )
    return 0


def add_user_security_commands(users_sub: Any) -> None:
    """Register `users unlock` and `users reset-mfa` under the `users` command."""
    unlock = users_sub.add_parser("unlock", help="forget an account's failed sign-ins (ends its lock)")
    unlock.add_argument("username", help="the account's username (often an email address)")
    unlock.set_defaults(func=_unlock)
    reset = users_sub.add_parser(
        "reset-mfa", help="remove an account's TOTP and recovery codes; end its sessions"
    )
    reset.add_argument("username", help="the account's username (often an email address)")
    reset.set_defaults(func=_reset_mfa)
