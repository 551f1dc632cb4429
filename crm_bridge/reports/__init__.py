"""Service reports: KPIs against the team's targets, trends, drill-down and export (docs/reports.md)."""

# The rollup's listeners, registered wherever conversations change (docs/decisions/0016-report-rollups.md).
from crm_bridge.reports import listeners as _listeners  # noqa: F401
