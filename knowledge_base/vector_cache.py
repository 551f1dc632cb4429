"""Embeddings of knowledge-base texts, kept on disk so a restart or an edit never re-embeds what is known.

The store is a folder (by default `var/kb-index/`) holding, per embedding model, an append-only file of
fixed-size records (16-byte text digest + float32 vector), another of the texts' word-piece vectors
where the retriever matches word pieces (digest, count, CRC-32, int32 ids, float16 vectors), and a
manifest. Appends are whole records under an exclusive lock, so several workers can share one store; a
torn record (a crash mid-write) and everything after it are cut off the file on load, so later appends
line up again and are re-embedded at worst, never misread. `kefu kb reindex` starts the store afresh.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from kefu_core.encoding.tokens import TokenVectors

FORMAT = 1
KEY_BYTES = 16
COUNT = np.dtype("<u2")  # word pieces in a token record (the model reads 256 at most)
TOKEN_HEADER = KEY_BYTES + COUNT.itemsize + 4  # key, count, CRC-32 of the ids and vectors


def text_key(text: str) -> bytes:
    """The store's key for a text: its first 16 bytes of SHA-256."""
    return hashlib.sha256(text.encode("utf-8")).digest()[:KEY_BYTES]


@dataclass(frozen=True)
class CacheStats:
    """What one `vectors()` call did."""

    reused: int
    embedded: int


class VectorCache:
    """Text -> vector for one model; in memory, optionally persisted under `root`."""

    def __init__(self, fingerprint: str, dimension: int, root: Path | None = None) -> None:
        self.fingerprint = fingerprint
        self.dimension = dimension
        self.root = root / fingerprint if root is not None else None
        self._vectors: dict[bytes, np.ndarray] = {}
        self._tokens: dict[bytes, TokenVectors] = {}
        self._tokens_loaded = root is None  # read on first use: only languages that match word pieces
        self._lock = threading.Lock()
        self.embedded_total = 0
        if self.root is not None:
            self._load()

    @property
    def _records(self) -> Path:
        assert self.root is not None
        return self.root / "vectors.bin"

    @property
    def _token_records(self) -> Path:
        assert self.root is not None
        return self.root / "tokens.bin"

    @property
    def _record_size(self) -> int:
        return KEY_BYTES + 4 * self.dimension

    def __len__(self) -> int:
        return len(self._vectors)

    def _load(self) -> None:
        manifest = self.read_manifest()
        if manifest and (manifest.get("format") != FORMAT or manifest.get("dimension") != self.dimension):
            self.clear()
            return
        _read_whole_records(self._records, self._parse_vectors)

    def _parse_vectors(self, raw: bytes) -> int:
        usable = len(raw) - len(raw) % self._record_size
        records = np.frombuffer(raw[:usable], dtype=np.uint8).reshape(-1, self._record_size)
        vectors = records[:, KEY_BYTES:].copy().view(np.float32)
        for row, key in enumerate(records[:, :KEY_BYTES]):
            self._vectors[key.tobytes()] = vectors[row]
        return usable

    def _load_tokens(self) -> None:
        """Read the word-piece records (once)."""
        self._tokens_loaded = True
        _read_whole_records(self._token_records, self._parse_tokens)

    def _parse_tokens(self, raw: bytes) -> int:
        """Records up to the first torn or damaged one; returns where they end."""
        at = 0
        while at + TOKEN_HEADER <= len(raw):
            key = raw[at : at + KEY_BYTES]
            n = int(np.frombuffer(raw, COUNT, 1, at + KEY_BYTES)[0])
            body = at + TOKEN_HEADER
            end = body + n * (4 + 2 * self.dimension)
            crc = int(np.frombuffer(raw, "<u4", 1, at + KEY_BYTES + COUNT.itemsize)[0])
            if end > len(raw) or zlib.crc32(raw[body:end]) != crc:
                break
            ids = np.frombuffer(raw, np.int32, n, body).copy()
            vectors = np.frombuffer(raw, np.float16, n * self.dimension, body + 4 * n)
            self._tokens[key] = TokenVectors(ids, vectors.reshape(n, self.dimension).copy())
            at = end
        return at

    def read_manifest(self) -> dict[str, Any] | None:
        """The store's manifest, or None when there is none (or it is unreadable)."""
        if self.root is None:
            return None
        try:
            data = json.loads((self.root / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def write_manifest(self, **fields: Any) -> None:
        """Record what the index was built from (atomic replace)."""
        if self.root is None:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        manifest = {
            "format": FORMAT,
            "model": self.fingerprint,
            "dimension": self.dimension,
            "vectors": len(self._vectors),
            "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
            **fields,
        }
        tmp = self.root / f"manifest.json.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
        tmp.replace(self.root / "manifest.json")

    def clear(self) -> None:
        """Forget every vector, on disk too."""
        with self._lock:
            self._vectors.clear()
            self._tokens.clear()
            self._tokens_loaded = True
            if self.root is not None:
                for name in ("vectors.bin", "tokens.bin", "manifest.json"):
                    (self.root / name).unlink(missing_ok=True)

    def vectors(
        self,
        texts: Sequence[str],
        embed: Callable[[list[str]], np.ndarray],
        *,
        batch: int = 256,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, CacheStats]:
        """Vectors for `texts` in order; only texts never seen are embedded (and persisted)."""

        def store(keys: list[bytes], chunk: list[str]) -> None:
            self._add(keys, np.asarray(embed(chunk), dtype=np.float32))

        keys, stats = self._fill(texts, lambda key: key in self._vectors, store, batch, progress)
        return self._stacked(keys), stats

    def vectors_and_tokens(
        self,
        texts: Sequence[str],
        embed: Callable[[list[str]], tuple[np.ndarray, list[TokenVectors]]],
        *,
        batch: int = 256,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, list[TokenVectors], CacheStats]:
        """`vectors`, plus each text's word-piece vectors: texts missing either are embedded once for
        both (a vector already stored is kept, so results do not move)."""

        def store(keys: list[bytes], chunk: list[str]) -> None:
            vectors, tokens = embed(chunk)
            new = [row for row, key in enumerate(keys) if key not in self._vectors]
            self._add([keys[row] for row in new], np.asarray(vectors, dtype=np.float32)[new])
            lacking = [row for row, key in enumerate(keys) if key not in self._tokens]
            self._add_tokens([keys[row] for row in lacking], [tokens[row] for row in lacking])

        def known(key: bytes) -> bool:
            return key in self._vectors and key in self._tokens

        if not self._tokens_loaded:
            with self._lock:
                if not self._tokens_loaded:
                    self._load_tokens()
        keys, stats = self._fill(texts, known, store, batch, progress)
        return self._stacked(keys), [self._tokens[key] for key in keys], stats

    def _fill(
        self,
        texts: Sequence[str],
        known: Callable[[bytes], bool],
        store: Callable[[list[bytes], list[str]], None],
        batch: int,
        progress: Callable[[int], None] | None,
    ) -> tuple[list[bytes], CacheStats]:
        """Each text's key; texts not `known` are passed to `store` once each, `batch` at a time."""
        keys = [text_key(t) for t in texts]
        missing: dict[bytes, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if not known(key) and key not in missing:
                missing[key] = text
        reused = len(texts) - len(missing)
        if progress is not None and reused:
            progress(reused)
        todo = list(missing.items())
        for start in range(0, len(todo), batch):
            chunk = todo[start : start + batch]
            store([key for key, _ in chunk], [text for _, text in chunk])
            if progress is not None:
                progress(len(chunk))
        self.embedded_total += len(todo)
        return keys, CacheStats(reused=reused, embedded=len(todo))

    def _stacked(self, keys: list[bytes]) -> np.ndarray:
        out = np.empty((len(keys), self.dimension), dtype=np.float32)
        for row, key in enumerate(keys):
            out[row] = self._vectors[key]
        return out

    def put(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store vectors computed elsewhere (a benchmark's synthetic base, a bulk import)."""
        self._add([text_key(t) for t in texts], np.asarray(vectors, dtype=np.float32))

    def _add(self, keys: list[bytes], vectors: np.ndarray) -> None:
        with self._lock:
            for key, vector in zip(keys, vectors, strict=True):
                self._vectors[key] = vector
            if self.root is not None and keys:
                payload = b"".join(
                    key + np.ascontiguousarray(v).tobytes() for key, v in zip(keys, vectors, strict=True)
                )
                self._append(self._records, payload)

    def _add_tokens(self, keys: list[bytes], tokens: list[TokenVectors]) -> None:
        with self._lock:
            for key, doc in zip(keys, tokens, strict=True):
                self._tokens[key] = doc
            if self.root is not None and keys:
                self._append(self._token_records, b"".join(map(_token_record, keys, tokens)))

    def _append(self, path: Path, payload: bytes) -> None:
        """Whole records at the end of `path`, under an exclusive lock: other workers append too."""
        assert self.root is not None
        self.root.mkdir(parents=True, exist_ok=True)
        with open(path, "ab") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                fh.write(payload)
                fh.flush()
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def _token_record(key: bytes, doc: TokenVectors) -> bytes:
    body = (
        np.ascontiguousarray(doc.ids, np.int32).tobytes()
        + np.ascontiguousarray(doc.vectors, np.float16).tobytes()
    )
    count = np.asarray(len(doc.ids), COUNT).tobytes()
    return key + count + np.asarray(zlib.crc32(body), "<u4").tobytes() + body


def _read_whole_records(path: Path, parse: Callable[[bytes], int]) -> None:
    """Parse a store file under the append lock (so no append is half-seen) and cut it back to where
    `parse` stopped: what follows a torn record (a crash mid-write) is misaligned and is embedded again."""
    try:
        fh = open(path, "r+b")  # noqa: SIM115 - held open across the lock
    except FileNotFoundError:
        return
    with fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            raw = fh.read()
            good = parse(raw)
            if good < len(raw):
                fh.truncate(good)
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
