"""Embeddings of knowledge-base texts, kept on disk so a restart or an edit never re-embeds what is known.

The store is a folder (by default `var/kb-index/`) holding, per embedding model, an append-only file of
fixed-size records (16-byte text digest + float32 vector) and a manifest. Appends are whole records under
an exclusive lock, so several workers can share one store; a torn record at the end (a crash mid-write)
is ignored on load. `kefu kb reindex` starts the store afresh.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = 1
KEY_BYTES = 16


def text_key(text: str) -> bytes:
    """The store's key for a text: its first 16 bytes of SHA-256."""
    return hashlib.sha256(text.encode("utf-8")).digest()[:KEY_BYTES]


def model_fingerprint(model_path: Path) -> str:
    """Identifies a model folder by its files: names, sizes and the content of the small ones (configs).

    Not by path or time: the same model reinstalled elsewhere keeps its vectors valid.
    """
    digest = hashlib.sha256()
    for path in sorted(model_path.rglob("*")):
        if path.is_file():
            size = path.stat().st_size
            digest.update(f"{path.relative_to(model_path)}:{size}".encode())
            if size < 1_000_000:
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


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
        self._lock = threading.Lock()
        self.embedded_total = 0
        if self.root is not None:
            self._load()

    @property
    def _records(self) -> Path:
        assert self.root is not None
        return self.root / "vectors.bin"

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
        if not self._records.exists():
            return
        raw = self._records.read_bytes()
        usable = len(raw) - len(raw) % self._record_size  # a torn last record is dropped
        records = np.frombuffer(raw[:usable], dtype=np.uint8).reshape(-1, self._record_size)
        vectors = records[:, KEY_BYTES:].copy().view(np.float32)
        for row, key in enumerate(records[:, :KEY_BYTES]):
            self._vectors[key.tobytes()] = vectors[row]

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
            if self.root is not None:
                for name in ("vectors.bin", "manifest.json"):
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
        keys = [text_key(t) for t in texts]
        missing: dict[bytes, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key not in self._vectors and key not in missing:
                missing[key] = text
        reused = len(texts) - len(missing)
        if progress is not None and reused:
            progress(reused)
        todo = list(missing.items())
        for start in range(0, len(todo), batch):
            chunk = todo[start : start + batch]
            new = np.asarray(embed([text for _, text in chunk]), dtype=np.float32)
            self._add([key for key, _ in chunk], new)
            if progress is not None:
                progress(len(chunk))
        self.embedded_total += len(todo)
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for row, key in enumerate(keys):
            out[row] = self._vectors[key]
        return out, CacheStats(reused=reused, embedded=len(todo))

    def put(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store vectors computed elsewhere (a benchmark's synthetic base, a bulk import)."""
        self._add([text_key(t) for t in texts], np.asarray(vectors, dtype=np.float32))

    def _add(self, keys: list[bytes], vectors: np.ndarray) -> None:
        with self._lock:
            for key, vector in zip(keys, vectors, strict=True):
                self._vectors[key] = vector
            if self.root is None:
                return
            self.root.mkdir(parents=True, exist_ok=True)
            payload = b"".join(
                key + np.ascontiguousarray(v).tobytes() for key, v in zip(keys, vectors, strict=True)
            )
            with open(self._records, "ab") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)  # other workers append to the same file
                try:
                    fh.write(payload)
                    fh.flush()
                finally:
                    fcntl.flock(fh, fcntl.LOCK_UN)
