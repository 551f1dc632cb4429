"""Failed sign-ins counted per account name and per client address, in the database (no HTTP).

Counting the *name* typed, whether an account has it or not, keeps the answers for existing and
unknown accounts the same: both lock after the same number of failures. Names and addresses are
stored as keyed hashes, so the table holds neither mistyped passwords in a username field nor addresses.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from crm_bridge.users.models import LoginFailure
from kefu_core.db import utcnow
from kefu_core.errors import TooManyRequests
from kefu_core.settings import get_settings


class LoginLocked(TooManyRequests):
    """Too many failed sign-ins for this account name or from this address."""

    code = "login_locked"


def _key(kind: str, value: str) -> str:
    secret = get_settings().secret_key.encode()
    return hmac.new(secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def account_key(username: str) -> str:
    """The stored key for an account name (case and surrounding spaces ignored)."""
    return _key("account", username.strip().lower())


def address_key(address: str) -> str:
    """The stored key for a client address."""
    return _key("address", address)


def check(session: Session, *, username: str, address: str) -> None:
    """LoginLocked (429, retry_after_s) while the account name or the address is locked."""
    settings = get_settings()
    window = timedelta(minutes=settings.login_lock_minutes)
    now = utcnow()
    limits = [
        (account_key(username), settings.login_max_failures),
        (address_key(address), settings.login_address_max_failures),
    ]
    for key, limit in limits:
        recent = session.scalars(
            select(LoginFailure.at)
            .where(LoginFailure.key == key, LoginFailure.at > now - window)
            .order_by(LoginFailure.at.desc())
            .limit(limit)
        ).all()
        if len(recent) >= limit:
            # Locked until the oldest of the last `limit` failures leaves the window.
            retry = max(1, math.ceil((recent[-1] + window - now).total_seconds()))
            raise LoginLocked(
                f"too many failed sign-ins; try again in {math.ceil(retry / 60)} min",
                details={"retry_after_s": retry},
            )


def record_failure(session: Session, *, username: str, address: str) -> None:
    """Count one failed sign-in (the caller commits); rows older than the lock time are swept."""
    cutoff = utcnow() - timedelta(minutes=get_settings().login_lock_minutes)
    session.execute(delete(LoginFailure).where(LoginFailure.at < cutoff))
    session.add_all([LoginFailure(key=account_key(username)), LoginFailure(key=address_key(address))])
    session.flush()


def clear_account(session: Session, *, username: str) -> int:
    """Forget the failures of an account name (a successful sign-in, `kefu users unlock`); how many."""
    result = session.execute(delete(LoginFailure).where(LoginFailure.key == account_key(username)))
    return int(getattr(result, "rowcount", 0) or 0)
