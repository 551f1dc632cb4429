"""Where the project's files and its runtime data live."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def var_dir() -> Path:
    """The runtime data folder (databases, indexes, secrets, logs); `KEFU_VAR_DIR` moves it."""
    path = Path(os.environ.get("KEFU_VAR_DIR", ROOT / "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path
