"""WeCom's callback cryptography (企业微信 "加解密方案"): msg_signature is SHA1 over the sorted
concatenation of the callback Token, timestamp, nonce and the encrypted text; the text is AES-256-CBC
with key = base64(EncodingAESKey + "="), IV = the key's first 16 bytes, PKCS#7 padding to 32-byte
blocks, over 16 random bytes + a 4-byte big-endian length + the message + the ReceiveId (the corp id)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32  # WeCom pads to 32 bytes, not AES's 16


class CryptoError(ValueError):
    """A callback that cannot be verified or decrypted (the webhook answers 401, stores nothing)."""


def signature(token: str, timestamp: str, nonce: str, data: str) -> str:
    """The msg_signature WeCom computes: SHA1 hex of the four strings sorted and joined."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, data])).encode()).hexdigest()


def _pad(data: bytes) -> bytes:
    size = BLOCK - len(data) % BLOCK
    return data + bytes([size]) * size


def _unpad(data: bytes) -> bytes:
    size = data[-1] if data else 0
    if not 1 <= size <= BLOCK or data[-size:] != bytes([size]) * size:
        raise CryptoError("bad padding (is the EncodingAESKey right?)")
    return data[:-size]


class WeComCrypto:
    """Verify, decrypt and encrypt for one corp's callback Token and EncodingAESKey."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if len(encoding_aes_key) != 43 or len(key) != 32:
            raise ValueError("the EncodingAESKey must be 43 base64 characters (32 bytes once decoded)")
        self._token = token
        self._key = key
        self._receive_id = receive_id.encode()

    def verify(self, msg_signature: str, timestamp: str, nonce: str, data: str) -> bool:
        """Whether `msg_signature` signs (timestamp, nonce, data) with our token; constant-time compare."""
        expected = signature(self._token, timestamp, nonce, data)
        return hmac.compare_digest(expected.encode(), msg_signature.strip().lower().encode())

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def decrypt(self, encrypted: str) -> bytes:
        """The message inside `encrypted` (base64); CryptoError unless it decrypts for our corp id."""
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError):
            raise CryptoError("the encrypted text is not base64") from None
        if not raw or len(raw) % 16:
            raise CryptoError("the encrypted text is not whole AES blocks")
        decryptor = self._cipher().decryptor()
        plain = _unpad(decryptor.update(raw) + decryptor.finalize())
        if len(plain) < 20:
            raise CryptoError("the decrypted text is too short")
        (length,) = struct.unpack(">I", plain[16:20])
        message, receive_id = plain[20 : 20 + length], plain[20 + length :]
        if len(message) != length:
            raise CryptoError("the decrypted length does not match")
        if not hmac.compare_digest(receive_id, self._receive_id):
            raise CryptoError("the ReceiveId is not our corp id")
        return message

    def encrypt(self, message: bytes, *, random: bytes | None = None) -> str:
        """`message` encrypted as WeCom does (base64), for replies and tests."""
        plain = (random or os.urandom(16)) + struct.pack(">I", len(message)) + message + self._receive_id
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(_pad(plain)) + encryptor.finalize()).decode()

    def sign(self, timestamp: str, nonce: str, data: str) -> str:
        """msg_signature for `data` with our token."""
        return signature(self._token, timestamp, nonce, data)
