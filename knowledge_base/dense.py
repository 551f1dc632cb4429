"""The dense signal's FAISS index over one language's text vectors: exact up to a size, IVF above it."""

from __future__ import annotations

import math
from typing import NamedTuple

import faiss
import numpy as np

# Flat search costs grow with the base, IVF's with the probed share of it.
APPROX_ABOVE = 50_000
IVF_NPROBE = 32
# One query at a time: FAISS's OpenMP threads cost more than they save, and concurrent requests
# already keep the cores busy.
faiss.omp_set_num_threads(1)


class Dense(NamedTuple):
    """A built index and what it is."""

    faiss_index: faiss.Index  # an IVF index keeps its quantizer referenced (faiss's Python wrapper does)
    kind: str  # "flat" or "ivf"


def build(vectors: np.ndarray | None, ids: np.ndarray, dimension: int, approx_above: int) -> Dense:
    """An inner-product index over `vectors` under `ids`: IVF above `approx_above` texts, else flat."""
    if len(ids) > approx_above and vectors is not None:
        # About 2·sqrt(n) lists, each trained on at least 39 points (faiss's minimum for k-means).
        nlist = max(1, min(1024, int(2 * math.sqrt(len(ids))), len(ids) // 39))
        quantizer = faiss.IndexFlatIP(dimension)
        ivf = faiss.IndexIVFFlat(quantizer, dimension, nlist, faiss.METRIC_INNER_PRODUCT)
        ivf.cp.niter = 10
        sample = vectors[np.random.default_rng(0).permutation(len(ids))[: 40 * nlist]]
        ivf.train(sample)
        ivf.nprobe = IVF_NPROBE
        ivf.add_with_ids(vectors, ids)
        return Dense(ivf, "ivf")
    flat = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
    if vectors is not None:
        flat.add_with_ids(vectors, ids)
    return Dense(flat, "flat")
