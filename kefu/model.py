"""Train the Rasa model only when its inputs changed (content hash), cached under models/."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

from kefu_core.paths import ROOT

RASA_BIN = ROOT / ".venv-rasa" / "bin" / "rasa"
MODELS = ROOT / "models"
KEEP = 3


def training_inputs() -> list[Path]:
    """Every file whose content shapes the model."""
    files = [ROOT / "config.yml", ROOT / "bot" / "domain.yml", ROOT / "requirements" / "rasa.lock"]
    files += sorted((ROOT / "bot" / "data").rglob("*.yml"))
    files += sorted((ROOT / "bot" / "components").rglob("*.py"))
    # What bot/components imports of the core: the sentence featurizer's encoder and the language rule.
    files += [ROOT / "kefu_core" / "encoding" / name for name in ("onnx.py", "tokens.py")]
    files.append(ROOT / "kefu_core" / "language.py")
    return files


def sentence_encoder_dir() -> Path:
    """The int8 MiniLM bundle the NLU pipeline's sentence featurizer trains with (exported once)."""
    from kefu_core.encoding.embedder import default_model_path
    from kefu_core.encoding.onnx import ensure_bundle

    return ensure_bundle(default_model_path())


def content_hash() -> str:
    """Hash of the training inputs' paths and contents, and of the sentence encoder's identity."""
    digest = hashlib.sha256()
    for path in training_inputs():
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    # The bundle's folder is named by the embedding model's fingerprint: another model, another NLU model.
    digest.update(sentence_encoder_dir().name.encode())
    return digest.hexdigest()[:16]


def model_path() -> Path:
    """Where the model for the current inputs lives (it may not exist yet)."""
    return MODELS / f"kefu-{content_hash()}.tar.gz"


def rasa_env() -> dict[str, str]:
    """Environment for Rasa processes: our components importable, noisy banners off."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    # Read by bot.components.sentence_embeddings when it trains (a trained model carries its own copy).
    env.setdefault("KEFU_SENTENCE_ENCODER_DIR", str(sentence_encoder_dir()))
    return env


def ensure_model(*, quiet: bool = False) -> Path:
    """Return the current model, training it first when the inputs changed."""
    target = model_path()
    if target.exists():
        return target
    if not RASA_BIN.exists():
        raise RuntimeError(f"{RASA_BIN} is missing: run `make setup` (or `make run`) first")
    MODELS.mkdir(exist_ok=True)
    print(f">> training the Rasa model ({target.name}); this takes about a minute", flush=True)
    started = time.monotonic()
    cmd = [
        str(RASA_BIN), "train",
        "--config", "config.yml",
        "--domain", "bot/domain.yml",
        "--data", "bot/data",
        "--out", str(MODELS),
        "--fixed-model-name", target.name.removesuffix(".tar.gz"),
    ]  # fmt: skip
    out = subprocess.DEVNULL if quiet else None
    result = subprocess.run(cmd, cwd=ROOT, env=rasa_env(), stdout=out, check=False)
    if result.returncode != 0 or not target.exists():
        raise RuntimeError(f"rasa train failed (exit {result.returncode})")
    print(f">> model trained in {time.monotonic() - started:.0f} s", flush=True)
    _prune(keep=target)
    return target


def _prune(keep: Path) -> None:
    models = sorted(MODELS.glob("kefu-*.tar.gz"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in models[KEEP:]:
        if old != keep:
            old.unlink(missing_ok=True)


if __name__ == "__main__":
    print(ensure_model())
    sys.exit(0)
