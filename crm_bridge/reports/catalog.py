"""Imports every module that registers metrics (the registry asks for this once, lazily: no import cycle)."""

from __future__ import annotations

import importlib
import logging

log = logging.getLogger("kefu.reports")
# Conversation KPIs (facts_metrics) and the other engineers' domains; a module not written yet is skipped.
MODULES = (
    "crm_bridge.reports.facts_metrics",
    "crm_bridge.reports.sla",
    "crm_bridge.reports.csat",
    "crm_bridge.reports.availability",
)
_loaded = False


def load() -> None:
    """Import the registering modules once."""
    global _loaded
    if _loaded:
        return
    for name in MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    _loaded = True
