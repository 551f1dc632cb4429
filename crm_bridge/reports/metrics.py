"""The metric registry: every figure a report shows, by name, with its value, its series and the
conversations or tickets behind it. Domain modules (facts_metrics, sla, csat, availability) register
theirs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from crm_bridge.reports.buckets import all_buckets, bucket, fill, hour_of_day, start_of
from crm_bridge.reports.filters import ReportFilter
from kefu_core.errors import Invalid

__all__ = [
    "Metric",
    "all_buckets",
    "bucket",
    "fill",
    "get",
    "hour_of_day",
    "names",
    "register",
    "start_of",
]

ValueFn = Callable[[Session, ReportFilter], float | None]
SeriesFn = Callable[[Session, ReportFilter, str], list[tuple[datetime, float | None]]]
# (session, filter, offset, limit) -> (items, total). An item is a dict with at least: "id", "kind"
# ("conversation" | "ticket"), "started_at" (ISO, conversations) or "created_at" (tickets), "channel",
# "contact_id" and "value" (the figure's own value for that row: seconds, 0/1, a rating...).
DrilldownFn = Callable[[Session, ReportFilter, int, int], tuple[list[dict[str, Any]], int]]


@dataclass(frozen=True)
class Metric:
    """One reported figure: `value` for the period, `series` bucketed in SQL in KEFU_TIMEZONE
    (`metrics.bucket` / `metrics.fill`), `drilldown` the rows behind it (paged)."""

    name: str
    label: str
    unit: Literal["seconds", "ratio", "count", "score"]
    kind: Literal["conversation", "ticket", "minute"]
    value: ValueFn
    series: SeriesFn
    drilldown: DrilldownFn


_REGISTRY: dict[str, Metric] = {}


def register(metric: Metric) -> Metric:
    """Add a metric (a module registers at import; registering the same name again replaces it)."""
    _REGISTRY[metric.name] = metric
    return metric


def _load() -> None:
    # The domain modules register on import; importing them here keeps every caller's view complete.
    from crm_bridge.reports import catalog

    catalog.load()


def get(name: str) -> Metric:
    """The metric called `name`; Invalid naming the `metric` field otherwise."""
    _load()
    metric = _REGISTRY.get(name)
    if metric is None:
        raise Invalid(
            f"metric: unknown metric {name[:60]!r} (known: {', '.join(sorted(_REGISTRY))})",
            details={"field": "metric"},
        )
    return metric


def names() -> list[str]:
    """Every registered metric name, sorted."""
    _load()
    return sorted(_REGISTRY)
