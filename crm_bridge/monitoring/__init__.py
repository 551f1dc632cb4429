"""The /metrics route, the figures read from the database at scrape time and the job-queue hooks.

Apart from `crm_bridge.observability` (the series and timers every domain calls) because these read the
domains' tables: one package doing both would import the domains that import it (a sibling cycle).
"""
