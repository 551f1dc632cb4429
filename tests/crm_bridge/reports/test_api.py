"""The report routes: shapes, bad input (422 naming the field), agent-vs-admin scoping and the CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from crm_bridge.users.models import Role
from tests.app_fixtures import logged_in
from tests.crm_bridge.reports.history import ENV, FROM, TO, History, build
from tests.helpers import kefu_env


@pytest.fixture
def history(db_url: str) -> Iterator[History]:
    with kefu_env(**ENV):
        yield build(db_url)


def _q(h: History, **extra: str) -> dict[str, str]:
    return {"from": FROM, "to": TO, "tag": h.tag, **extra}


def test_summary_shape_and_values(admin_client: tuple[TestClient, int], history: History) -> None:
    api, _ = admin_client
    body = api.get("/api/v1/reports/summary", params=_q(history)).json()
    kpis = body["kpis"]
    assert body["period"]["from"] == "2024-03-03T16:00:00+00:00"  # local midnight in Shanghai
    assert body["period"]["timezone"] == "Asia/Shanghai"
    assert {"median_s", "p90_s", "mean_s", "target_s", "met"} <= set(kpis["first_response"])
    assert kpis["fcr"]["rate"] == 0.3333 and kpis["fcr"]["met"] is False
    assert {"percent_satisfied", "score_100", "response_rate", "target", "met"} <= set(kpis["csat"])
    assert {"resolution_rate", "handoff_rate", "unanswered_rate"} <= set(kpis["bot"])
    assert {"first_response_met", "resolution_met"} <= set(kpis["sla"])
    assert {"rate", "target", "met", "by_part"} <= set(kpis["availability"])
    assert body["volume"]["conversations"] == 6


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("summary", {"from": "2024-03-10", "to": "2024-03-01"}, "from"),
        ("summary", {"from": "2020-01-01", "to": "2024-01-01"}, "to"),
        ("summary", {"from": "yesterday"}, "from"),
        ("summary", {"tier": "gold"}, "tier"),
        ("timeseries", {"metric": "no_such_metric"}, "metric"),
        ("timeseries", {"metric": "conversations", "interval": "month"}, "interval"),
        ("drilldown", {"metric": "nope"}, "metric"),
        ("breakdown", {"by": "planet"}, "by"),
        ("export.csv", {"metric": "nope"}, "metric"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    admin_client: tuple[TestClient, int], path: str, params: dict[str, str], field: str
) -> None:
    api, _ = admin_client
    response = api.get(f"/api/v1/reports/{path}", params=params)
    assert response.status_code == 422, response.text
    assert field in response.text


def test_timeseries_and_drilldown(admin_client: tuple[TestClient, int], history: History) -> None:
    api, _ = admin_client
    points = api.get(
        "/api/v1/reports/timeseries", params=_q(history, metric="conversations", interval="day")
    ).json()["points"]
    assert [p["value"] for p in points] == [1, 1, 2, 0, 1, 1, 0]
    page = api.get("/api/v1/reports/drilldown", params=_q(history, metric="handoff_rate", limit="2")).json()
    assert page["total"] == 6 and len(page["items"]) == 2
    second = api.get(
        "/api/v1/reports/drilldown", params=_q(history, metric="handoff_rate", limit="2", offset="2")
    ).json()
    assert {i["id"] for i in page["items"]}.isdisjoint({i["id"] for i in second["items"]})
    assert api.get("/api/v1/reports/drilldown", params=_q(history, metric="x", limit="0")).status_code == 422


def test_breakdown(admin_client: tuple[TestClient, int], history: History) -> None:
    api, _ = admin_client
    items = api.get("/api/v1/reports/breakdown", params=_q(history, by="channel")).json()["items"]
    assert {i["key"]: i["conversations"] for i in items} == {"api": 2, "widget": 4}
    agents = api.get("/api/v1/reports/breakdown", params=_q(history, by="agent")).json()["items"]
    assert {int(i["key"]): i["conversations"] for i in agents} == {history.agent1: 2, history.agent2: 1}
    tiers = api.get("/api/v1/reports/breakdown", params=_q(history, by="tier")).json()["items"]
    assert {i["key"]: i["conversations"] for i in tiers} == {"standard": 5, "vip": 1}


def test_an_agent_sees_only_their_own_figures(client: TestClient, session: Session, history: History) -> None:
    api, me = logged_in(client, session, Role.agent)
    mine = api.get("/api/v1/reports/summary", params=_q(history)).json()
    assert mine["period"]["filters"]["agent_id"] == me
    assert mine["volume"]["conversations"] == 0
    # Asking for another agent's figures still gives one's own.
    other = api.get("/api/v1/reports/summary", params=_q(history, agent_id=str(history.agent1))).json()
    assert other["period"]["filters"]["agent_id"] == me and other["volume"]["conversations"] == 0
    agents = api.get("/api/v1/reports/breakdown", params=_q(history, by="agent")).json()["items"]
    assert [(a["key"], a["conversations"]) for a in agents] == [(str(me), 0)]
    rows = api.get("/api/v1/reports/drilldown", params=_q(history, metric="conversations")).json()
    assert rows == {"items": [], "total": 0}


def test_csv_export_guards_formula_cells(
    admin_client: tuple[TestClient, int], history: History, session: Session
) -> None:
    api, _ = admin_client
    response = api.get("/api/v1/reports/export.csv", params=_q(history, metric="first_response_mean"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["id"] for r in rows] == [history.conversations[c] for c in ("c2", "c6", "c1")]
    assert rows[0]["value"] == "227700.0" and rows[0]["channel"] == "api"
    # A channel name a spreadsheet would run as a formula is written with a leading quote.
    from crm_bridge.reports.export import csv_text

    text = csv_text("m", [{"id": "x", "channel": "=HYPERLINK(1)", "value": -1}])
    assert "'=HYPERLINK(1)" in text and ",'-1" in text
