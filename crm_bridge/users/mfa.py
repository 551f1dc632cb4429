"""TOTP (RFC 6238, pyotp) enrolment and checks, and single-use recovery codes (no HTTP)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
import segno
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from crm_bridge.users.models import RecoveryCode, Role, User
from kefu_core.db import utcnow
from kefu_core.errors import Conflict, Invalid
from kefu_core.settings import get_settings

ISSUER = "kefu"
RECOVERY_CODES = 10
# Codes from the step before and after count too: phone clocks drift and people type slowly.
VALID_WINDOW = 1


def required_for(user: User) -> bool:
    """True when KEFU_REQUIRE_MFA makes this account use a second factor."""
    policy = get_settings().mfa_policy
    return policy == "all" or (policy == "admin" and user.role is Role.admin)


def begin_setup(session: Session, *, user: User) -> str:
    """A fresh TOTP secret for `user` (not yet on until a code confirms it); its otpauth:// URI."""
    if user.mfa_enabled:
        raise Conflict("two-factor sign-in is already on; turn it off first to enrol another device")
    user.totp_secret = pyotp.random_base32()
    user.totp_last_step = None
    session.flush()
    return provisioning_uri(user)


def provisioning_uri(user: User) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    if not user.totp_secret:
        raise Conflict("two-factor sign-in has not been set up; start the setup first")
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The URI as an inline SVG QR code (served with the page: no image request, no third party)."""
    return str(segno.make(uri, error="m").svg_inline(scale=5, dark="#111", light="#fff"))


def _totp_step(user: User, code: str, now: datetime) -> int | None:
    """The time step `code` belongs to, when it is right and newer than the last one accepted."""
    if not user.totp_secret or not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(user.totp_secret)
    current = totp.timecode(now)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            if user.totp_last_step is not None and step <= user.totp_last_step:
                return None  # seen already: a code is good once
            return step
    return None


def _hash_code(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").replace(" ", "").lower().encode()).hexdigest()


def _new_recovery_codes(session: Session, user: User) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()  # 80 bits: SHA-256 is enough
        codes.append("-".join(raw[i : i + 4] for i in range(0, 16, 4)))
    session.add_all([RecoveryCode(user_id=user.id, code_hash=_hash_code(c)) for c in codes])
    return codes


def enable(session: Session, *, user: User, code: str) -> list[str]:
    """Turn MFA on once `code` proves the app has the secret; the ten new recovery codes."""
    if user.mfa_enabled:
        raise Conflict("two-factor sign-in is already on")
    if not user.totp_secret:
        raise Conflict("two-factor sign-in has not been set up; start the setup first")
    step = _totp_step(user, code.strip(), utcnow())
    if step is None:
        raise Invalid("that code is wrong or has expired; enter the current code from the app")
    user.totp_last_step = step
    user.mfa_enabled_at = utcnow()
    codes = _new_recovery_codes(session, user)
    session.flush()
    return codes


def verify(session: Session, *, user: User, code: str) -> bool:
    """True for a current TOTP code or an unused recovery code (which is then used up)."""
    code = code.strip()
    if not user.mfa_enabled or not code:
        return False
    step = _totp_step(user, code, utcnow())
    if step is not None:
        user.totp_last_step = step
        session.flush()
        return True
    row = session.scalars(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash_code(code),
            RecoveryCode.used_at.is_(None),
        )
    ).first()
    if row is None:
        return False
    row.used_at = utcnow()
    session.flush()
    return True


def recovery_codes_left(session: Session, *, user: User) -> int:
    """How many recovery codes are still unused."""
    rows = session.scalars(
        select(RecoveryCode.id).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )
    return len(rows.all())


def disable(session: Session, *, user: User, code: str) -> None:
    """Turn MFA off after a current code or a recovery code."""
    if not user.mfa_enabled:
        raise Conflict("two-factor sign-in is not on")
    if not verify(session, user=user, code=code):
        raise Invalid("that code is wrong or has expired")
    reset(session, user=user)


def reset(session: Session, *, user: User) -> None:
    """Remove the secret and the recovery codes (`kefu users reset-mfa`, or after disable)."""
    user.totp_secret = None
    user.mfa_enabled_at = None
    user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.flush()
