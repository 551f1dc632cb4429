"""Secrets at rest: Fernet (the `cryptography` library) with the keys of KEFU_ENCRYPTION_KEY, and the column
type that encrypts on write and decrypts on read. The first key encrypts; every key listed decrypts, so a new
key goes first and the old one stays listed until `kefu secrets rotate` has re-encrypted every row."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import String
from sqlalchemy.types import TypeDecorator

from kefu_core.errors import Unavailable
from kefu_core.settings import get_settings

log = logging.getLogger(__name__)

# Fernet's fixed part: version (1 byte), timestamp (8), IV (16) and HMAC-SHA256 (32), around AES-CBC blocks.
_FERNET_OVERHEAD = 1 + 8 + 16 + 32
_BLOCK = 16


class SecretUnreadable(Unavailable):
    """A stored secret does not decrypt with any key in KEFU_ENCRYPTION_KEY (a key was changed or dropped)."""

    code = "encryption_key_mismatch"

    def __init__(self, what: str) -> None:
        super().__init__(
            f"{what} cannot be decrypted with any key in KEFU_ENCRYPTION_KEY: the key that encrypted it is "
            "not listed (was the key replaced instead of put first, before the old one?); restore the old "
            "key after the new one and run `kefu secrets rotate` (docs/secrets-at-rest.md)"
        )
        self.what = what


def ciphertext_length(plain_bytes: int) -> int:
    """Characters of the Fernet token (url-safe base64) for a plaintext of up to `plain_bytes` bytes."""
    raw = _FERNET_OVERHEAD + (plain_bytes // _BLOCK + 1) * _BLOCK  # PKCS7 always adds 1..16 bytes
    return 4 * -(-raw // 3)


@lru_cache(maxsize=8)
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    # Keyed by the keys themselves: tests and `kefu secrets rotate` change them without a cache to clear.
    return MultiFernet([Fernet(key.encode()) for key in keys])


def cipher() -> MultiFernet:
    """The MultiFernet of KEFU_ENCRYPTION_KEY (the settings have checked every key's shape)."""
    return _cipher(tuple(get_settings().encryption_keys))


def encrypt(plain: str) -> str:
    """`plain` encrypted with the first key, as a Fernet token (ASCII)."""
    return cipher().encrypt(plain.encode()).decode("ascii")


def decrypt(token: str, *, what: str = "a stored secret") -> str:
    """The plaintext of `token`; SecretUnreadable (naming `what`, never a value) when no key opens it."""
    try:
        return cipher().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError):
        log.error("%s does not decrypt with KEFU_ENCRYPTION_KEY (wrong or missing key)", what)
        raise SecretUnreadable(what) from None


def rotate(token: str, *, what: str = "a stored secret") -> str:
    """`token` re-encrypted with the first key (any listed key may open it)."""
    try:
        return cipher().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError):
        raise SecretUnreadable(what) from None


def encrypted_by_first_key(token: str) -> bool:
    """True when the first (newest) key opens `token`: nothing left to rotate."""
    try:
        Fernet(get_settings().encryption_keys[0].encode()).decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeError):
        return False
    return True


class EncryptedString(TypeDecorator[str]):
    """A string stored as a Fernet token: encrypted on write, decrypted on read (no SQL comparisons: the
    same value encrypts differently each time). `max_bytes` bounds the plaintext (UTF-8); the column is
    as wide as its longest token. `what` names the column in errors (table.column)."""

    impl = String
    cache_ok = True

    def __init__(self, max_bytes: int, what: str) -> None:
        self.max_bytes = max_bytes
        self.what = what
        super().__init__(length=ciphertext_length(max_bytes))

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        if len(value.encode()) > self.max_bytes:
            raise ValueError(f"{self.what} takes at most {self.max_bytes} bytes")
        return encrypt(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else decrypt(value, what=self.what)
