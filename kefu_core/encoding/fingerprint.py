"""A model folder's identity, for caches keyed on the model (vectors, ONNX exports, trained heads)."""

from __future__ import annotations

import hashlib
from pathlib import Path


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
