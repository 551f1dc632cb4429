"""Adapt the embedding model to a knowledge base: texts of one entry pulled together, of others apart.

Contrastive fine-tuning on the base's own questions and variants (no outside data): each text is an
anchor, another text of the same entry its positive, and the batch's other entries' texts its negatives
(texts of the anchor's own entry are masked out, so they never count as negatives). A plain torch loop
over the sentence-transformers model, so no training framework is needed beyond what the app ships.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from knowledge_base.documents import EntryDoc


@dataclass(frozen=True)
class AdaptReport:
    """What a fine-tuning run did."""

    model_path: str
    base_model: str
    entries: int
    texts: int
    steps: int
    epochs: int
    seconds: float
    final_loss: float


def training_pairs(entries: Sequence[EntryDoc], rng: random.Random) -> list[tuple[str, str, int]]:
    """(anchor, positive, entry number) for every text of every entry that has at least two texts."""
    pairs: list[tuple[str, str, int]] = []
    for label, entry in enumerate(entries):
        texts = entry.texts
        if len(texts) < 2:
            continue
        for i, anchor in enumerate(texts):
            j = rng.randrange(len(texts) - 1)
            pairs.append((anchor, texts[j if j < i else j + 1], label))
    return pairs


def fingerprint(entries: Sequence[EntryDoc], base: Path, epochs: int, seed: int) -> str:
    """Identifies a run's inputs: the same base, texts and settings give the same model folder."""
    digest = hashlib.sha256(f"{base.resolve()}|{epochs}|{seed}".encode())
    for entry in sorted(entries, key=lambda e: e.faq_id):
        digest.update(json.dumps([entry.faq_id, entry.texts], ensure_ascii=False).encode())
    return digest.hexdigest()[:12]


def adapt(
    entries: Sequence[EntryDoc],
    base: Path,
    out: Path,
    *,
    epochs: int = 1,
    batch_size: int = 32,
    learning_rate: float = 3e-5,
    scale: float = 20.0,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> AdaptReport:
    """Fine-tune the model at `base` on `entries` and save it to `out`; `progress(step, total)`."""
    import torch
    from sentence_transformers import SentenceTransformer

    if epochs < 1 or batch_size < 2:
        raise ValueError("epochs must be at least 1 and batch_size at least 2")
    rng = random.Random(seed)
    torch.manual_seed(seed)
    model = SentenceTransformer(str(base), device="cpu")
    batches: list[list[tuple[str, str, int]]] = []
    for _ in range(epochs):
        pairs = training_pairs(entries, rng)
        rng.shuffle(pairs)
        batches += [pairs[i : i + batch_size] for i in range(0, len(pairs), batch_size)]
    batches = [b for b in batches if len(b) >= 2]
    if not batches:
        raise ValueError("nothing to learn from: no entry has two or more texts (question + variants)")
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    warmup = max(1, len(batches) // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / warmup) * max(0.0, 1 - step / len(batches))
    )
    started = time.perf_counter()
    model.train()
    loss_value = float("nan")
    for step, batch in enumerate(batches, start=1):
        anchors = _embed(model, [a for a, _, _ in batch])
        positives = _embed(model, [p for _, p, _ in batch])
        labels = torch.tensor([label for _, _, label in batch])
        logits = scale * anchors @ positives.T
        # Another text of the anchor's own entry is not a negative.
        same = labels[:, None] == labels[None, :]
        logits = logits.masked_fill(same & ~torch.eye(len(batch), dtype=torch.bool), float("-inf"))
        loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(batch)))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        loss_value = float(loss.detach())
        if progress is not None:
            progress(step, len(batches))
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    model.save(str(out))
    report = AdaptReport(
        model_path=str(out),
        base_model=str(base),
        entries=len(entries),
        texts=sum(len(e.texts) for e in entries),
        steps=len(batches),
        epochs=epochs,
        seconds=round(time.perf_counter() - started, 1),
        final_loss=round(loss_value, 4),
    )
    (out / "kefu-adapt.json").write_text(json.dumps(asdict(report), indent=2), encoding="utf-8")
    return report


def _embed(model: Any, texts: list[str]) -> Any:
    import torch

    features = model.preprocess(texts) if hasattr(model, "preprocess") else model.tokenize(texts)
    output = model(features)
    return torch.nn.functional.normalize(output["sentence_embedding"], dim=-1)
