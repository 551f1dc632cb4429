"""Password hashing (argon2id, a bounded number at once) and the password rule (no HTTP)."""

from __future__ import annotations

import json
import re
import threading
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError

from kefu_core.errors import Invalid, TooManyRequests
from kefu_core.settings import get_settings

MIN_LENGTH = 12
COMMON_FILE = Path(__file__).with_name("common_passwords.json")
# How long a sign-in waits for a free hashing slot before it is told to come back.
SLOT_WAIT_S = 10.0

_hasher = PasswordHasher()
_slots_lock = threading.Lock()
_slots: tuple[int, threading.BoundedSemaphore] | None = None


def _semaphore() -> threading.BoundedSemaphore:
    """The per-process hashing slots, rebuilt when KEFU_LOGIN_HASH_CONCURRENCY changes (tests)."""
    global _slots
    size = get_settings().login_hash_concurrency
    with _slots_lock:
        if _slots is None or _slots[0] != size:
            _slots = (size, threading.BoundedSemaphore(size))
        return _slots[1]


class _Slot:
    """Hold one hashing slot: each argon2 hash takes 64 MiB and a core, so a flood of sign-ins must
    queue here rather than exhaust the worker's memory."""

    def __enter__(self) -> None:
        self.semaphore = _semaphore()
        if not self.semaphore.acquire(timeout=SLOT_WAIT_S):
            raise TooManyRequests(
                "too many sign-ins at once; try again in a few seconds", details={"retry_after_s": 5}
            )

    def __exit__(self, *exc: object) -> None:
        self.semaphore.release()


def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    with _Slot():
        return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches the stored hash."""
    with _Slot():
        try:
            return _hasher.verify(password_hash, password)
        except VerificationError:
            return False


def burn_time(password: str) -> None:
    """Spend the time of a real check (an unknown user must not answer faster than a wrong password)."""
    with _Slot():
        _hasher.hash(password)


@lru_cache(maxsize=1)
def _common() -> frozenset[str]:
    data = json.loads(COMMON_FILE.read_text(encoding="utf-8"))
    return frozenset(data["passwords"])


def _core(password: str) -> str:
    return re.sub(r"[\W_]+", "", password.lower())


def check_password_rule(password: str, *, username: str | None = None) -> None:
    """Invalid unless `password` has at least 12 characters and is not a common or guessable one."""
    if len(password) < MIN_LENGTH:
        raise Invalid(f"password must have at least {MIN_LENGTH} characters")
    core = _core(password)
    common = _common()
    # "Password2024!" and "qwerty 123456" are as weak as their core word: trailing digits are stripped
    # (and digits alone are refused).
    stem = core.rstrip("0123456789")
    if not stem or core in common or stem in common or len(set(core)) <= 2:
        raise Invalid("this password is too common; choose a longer phrase of your own")
    if username and _core(username) and _core(username) in core:
        raise Invalid("the password must not contain the username")
