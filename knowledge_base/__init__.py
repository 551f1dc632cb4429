"""kefu knowledge base: FAQ entries, their curation, and hybrid (dense + lexical) retrieval.

The public names load on first use, so `import knowledge_base` pulls in neither FAISS nor torch:

- `FaqRetriever`, `EntryDoc`, `SearchResult`: the retriever and what goes in and comes out of it;
  `Encoder`: what it needs of a sentence encoder (`kefu_core.encoding.embedder.Embedder` is one).
- `build_retriever`: the process's retriever over the database's published entries (`runtime`).
- modules: `curation` (create, update, import, export), `service` (published entries), `unanswered`
  (the inbox), `runtime` (keeping the index current), `models` (ORM), `evaluate` (offline accuracy),
  `adapt` (fine-tuning the embedder).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from knowledge_base import adapt, curation, evaluate, models, runtime, service, unanswered
    from knowledge_base.documents import EntryDoc, SearchResult
    from knowledge_base.encoder import Encoder
    from knowledge_base.retriever import FaqRetriever
    from knowledge_base.runtime import build_retriever

__all__ = [
    "Encoder",
    "EntryDoc",
    "FaqRetriever",
    "SearchResult",
    "adapt",
    "build_retriever",
    "curation",
    "evaluate",
    "models",
    "runtime",
    "service",
    "unanswered",
]

_NAMES = {
    "EntryDoc": "documents",
    "Encoder": "encoder",
    "FaqRetriever": "retriever",
    "SearchResult": "documents",
    "build_retriever": "runtime",
}
_MODULES = frozenset({"adapt", "curation", "evaluate", "models", "runtime", "service", "unanswered"})


def __getattr__(name: str) -> Any:
    """Import a public name's module when the name is first read."""
    if name in _MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _NAMES:
        value = getattr(importlib.import_module(f"{__name__}.{_NAMES[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
