"""Service reports: KPIs against the team's targets, trends, drill-down and export (docs/reports.md)."""
