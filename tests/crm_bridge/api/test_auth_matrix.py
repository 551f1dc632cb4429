"""Every route has a declared access policy, and each policy holds: 401 without credentials, 403 for a role
that is not enough, and the service token (the action server's) only where the action server calls
(issue 22, items 11 and 13). A new route fails the first test until it is given a policy here."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from crm_bridge.users.models import Role
from tests.app_fixtures import SERVICE_TOKEN, logged_in

Op = tuple[str, str]

PUBLIC: set[Op] = {
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/auth/logout"),  # ends the caller's own session, if any
    ("POST", "/api/v1/widget/session"),  # rate-limited per address
    ("GET", "/livez"),
    ("GET", "/readyz"),  # probes: a status word and failing part names, nothing private
    ("GET", "/healthz"),
    ("GET", "/metrics"),  # open in development; KEFU_METRICS_TOKEN (required in production) when set
    ("POST", "/webhooks/telegram"),  # verified by the platform's secret (404 when not configured)
    ("GET", "/webhooks/wecom"),  # WeCom's URL check, verified by msg_signature (404 when not configured)
    ("POST", "/webhooks/wecom"),  # verified by msg_signature and the corp id inside (404 when not configured)
    ("POST", "/webhooks/slack/events"),  # verified by Slack's v0 signature (404 when not configured)
    ("GET", "/webhooks/whatsapp"),  # Meta's subscription check, by hub.verify_token (404 when not configured)
    ("POST", "/webhooks/whatsapp"),  # verified by X-Hub-Signature-256 (404 when not configured)
}
CUSTOMER: set[Op] = {  # the REST chat channel: channel keys in production (see test_agent_api)
    ("POST", "/api/v1/chat"),
    ("GET", "/api/v1/chat/{conversation_id}/messages"),
}
WIDGET: set[Op] = {("GET", "/api/v1/widget/history")}  # a widget session token
SIGNED_IN: set[Op] = {  # any signed-in person, about their own account
    ("GET", "/api/v1/auth/me"),
    ("POST", "/api/v1/auth/mfa/setup"),
    ("POST", "/api/v1/auth/mfa/enable"),
    ("POST", "/api/v1/auth/mfa/disable"),
    ("GET", "/api/v1/auth/sessions"),
    ("DELETE", "/api/v1/auth/sessions/{session_id}"),
}
AGENT: set[Op] = {
    ("GET", "/api/v1/agent/canned-replies"),
    ("GET", "/api/v1/agent/canned-replies/{reply_id}"),
    ("POST", "/api/v1/agent/conversations/{conversation_id}/accept"),
    ("POST", "/api/v1/agent/conversations/{conversation_id}/handback"),
    ("POST", "/api/v1/agent/conversations/{conversation_id}/messages"),
    ("GET", "/api/v1/agent/conversations/{conversation_id}/packet"),
    ("GET", "/api/v1/agent/conversations/{conversation_id}/deliveries"),
    ("POST", "/api/v1/agent/conversations/{conversation_id}/resolve"),
    ("GET", "/api/v1/agent/queue"),
    ("POST", "/api/v1/agent/status"),
    ("GET", "/api/v1/contacts"),
    ("POST", "/api/v1/contacts"),
    ("GET", "/api/v1/contacts/{contact_id}"),
    ("PATCH", "/api/v1/contacts/{contact_id}"),
    ("POST", "/api/v1/contacts/{contact_id}/merge"),
    ("GET", "/api/v1/conversations"),
    ("GET", "/api/v1/conversations/{conversation_id}"),
    ("POST", "/api/v1/conversations/{conversation_id}/escalate"),
    ("GET", "/api/v1/feedback"),
    ("POST", "/api/v1/feedback"),
    ("GET", "/api/v1/feedback/summary"),
    ("POST", "/api/v1/sentiment"),
    ("GET", "/api/v1/tickets"),
    ("POST", "/api/v1/tickets"),
    ("GET", "/api/v1/tickets/{number}"),
    ("PATCH", "/api/v1/tickets/{number}"),
    ("POST", "/api/v1/tickets/{number}/events"),
    # Reports: an agent sees only their own figures (agent_id forced; tests/crm_bridge/reports/test_api.py).
    ("GET", "/api/v1/reports/summary"),
    ("GET", "/api/v1/reports/metrics"),
    ("GET", "/api/v1/reports/timeseries"),
    ("GET", "/api/v1/reports/drilldown"),
    ("GET", "/api/v1/reports/breakdown"),
    ("GET", "/api/v1/reports/export.csv"),
    ("GET", "/api/v1/reports/at-risk"),  # customers agents see anyway: agent_id is not forced here
}
ADMIN: set[Op] = {
    ("POST", "/api/v1/agent/canned-replies"),
    ("PUT", "/api/v1/agent/canned-replies/{reply_id}"),
    ("PATCH", "/api/v1/agent/canned-replies/{reply_id}"),
    ("DELETE", "/api/v1/agent/canned-replies/{reply_id}"),
    ("GET", "/api/v1/agent/load"),
    ("GET", "/api/v1/audit"),  # read-only: no route changes or deletes an entry (test_audit_log.py)
    ("GET", "/api/v1/audit.csv"),
    ("DELETE", "/api/v1/contacts/{contact_id}"),
    ("GET", "/api/v1/contacts/{contact_id}/export"),
    ("GET", "/api/v1/channels"),  # names of settings and whether set, never their values
    ("GET", "/api/v1/jobs/dead"),
    ("POST", "/api/v1/jobs/dead/replay"),
    ("GET", "/api/v1/kb/export"),
    ("GET", "/api/v1/kb/faqs"),
    ("POST", "/api/v1/kb/faqs"),
    ("GET", "/api/v1/kb/faqs/{faq_id}"),
    ("PATCH", "/api/v1/kb/faqs/{faq_id}"),
    ("DELETE", "/api/v1/kb/faqs/{faq_id}"),
    ("GET", "/api/v1/kb/faqs/{faq_id}/revisions"),
    ("POST", "/api/v1/kb/import"),
    ("GET", "/api/v1/kb/search"),
    ("GET", "/api/v1/kb/unanswered"),
    ("POST", "/api/v1/kb/unanswered/{item_id}/add-variant"),
    ("POST", "/api/v1/kb/unanswered/{item_id}/new-entry"),
    ("GET", "/api/v1/reports/voice"),  # customers' own words across every contact
    ("GET", "/api/v1/reports/topics"),
    ("GET", "/api/v1/users"),
    ("POST", "/api/v1/users"),
    ("GET", "/api/v1/users/{user_id}"),
    ("PATCH", "/api/v1/users/{user_id}"),
}
# What the action server calls (actions/clients.py), plus the sentiment of a text (it reads nothing stored;
# the benchmarks label messages with it). Nothing else answers the service token.
SERVICE: set[Op] = {
    ("GET", "/api/v1/kb/search"),
    ("GET", "/api/v1/contacts/{contact_id}"),
    ("PATCH", "/api/v1/contacts/{contact_id}"),
    ("GET", "/api/v1/tickets"),
    ("POST", "/api/v1/tickets"),
    ("GET", "/api/v1/tickets/{number}"),
    ("POST", "/api/v1/conversations/{conversation_id}/escalate"),
    ("POST", "/api/v1/feedback"),
    ("POST", "/api/v1/sentiment"),
}
POLICIES = {"public": PUBLIC, "customer": CUSTOMER, "widget": WIDGET, "signed in": SIGNED_IN,
            "agent": AGENT, "admin": ADMIN}  # fmt: skip
STAFF = AGENT | ADMIN


def _operations(client: TestClient) -> set[Op]:
    spec = client.get("/openapi.json").json()
    methods = {"get", "post", "put", "patch", "delete"}
    return {(m.upper(), path) for path, ops in spec["paths"].items() for m in ops if m in methods}


def _call(client: TestClient, op: Op) -> int:
    method, path = op
    concrete = re.sub(r"\{[^}]+\}", "999999", path)  # authentication is decided before the id is looked up
    body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    return client.request(method, concrete, **body).status_code


@pytest.fixture
def callers(client: TestClient, session: Session) -> Iterator[dict[str, TestClient]]:
    """Fresh clients: nobody, an agent, an admin, the service token and a widget session."""
    widget = client.post("/api/v1/widget/session", json={}).json()["token"]
    yield {
        "anonymous": TestClient(client.app),
        "agent": logged_in(client, session, Role.agent)[0],
        "admin": logged_in(client, session, Role.admin)[0],
        "service": TestClient(client.app, headers={"Authorization": f"Bearer {SERVICE_TOKEN}"}),
        "widget": TestClient(client.app, headers={"Authorization": f"Bearer {widget}"}),
    }


def test_every_route_has_exactly_one_declared_policy(client: TestClient) -> None:
    declared = [op for ops in POLICIES.values() for op in ops]
    assert len(declared) == len(set(declared)), "a route is in two policies"
    served = _operations(client)
    assert served - set(declared) == set(), "routes without a policy: add them to this file"
    assert set(declared) - served == set(), "policies for routes that no longer exist"
    assert SERVICE <= STAFF


def test_without_credentials_every_protected_route_is_401(callers: dict[str, TestClient]) -> None:
    wrong = {
        op: code for op in STAFF | SIGNED_IN | WIDGET if (code := _call(callers["anonymous"], op)) != 401
    }
    assert wrong == {}


def test_a_widget_token_opens_no_staff_route(callers: dict[str, TestClient]) -> None:
    wrong = {op: code for op in STAFF | SIGNED_IN if (code := _call(callers["widget"], op)) != 401}
    assert wrong == {}


def test_an_agent_is_refused_every_admin_route_and_admitted_to_the_rest(
    callers: dict[str, TestClient],
) -> None:
    refused = {op: code for op in ADMIN if (code := _call(callers["agent"], op)) != 403}
    assert refused == {}
    shut_out = {op: code for op in AGENT | SIGNED_IN if (code := _call(callers["agent"], op)) in (401, 403)}
    assert shut_out == {}


def test_an_admin_is_admitted_everywhere(callers: dict[str, TestClient]) -> None:
    shut_out = {op: code for op in STAFF | SIGNED_IN if (code := _call(callers["admin"], op)) in (401, 403)}
    assert shut_out == {}


def test_the_service_token_reaches_only_the_action_servers_routes(callers: dict[str, TestClient]) -> None:
    admitted = {op: code for op in STAFF - SERVICE if (code := _call(callers["service"], op)) != 403}
    assert admitted == {}
    refused = {op: code for op in SERVICE if (code := _call(callers["service"], op)) in (401, 403)}
    assert refused == {}
    # Not a person: no account routes either.
    assert all(_call(callers["service"], op) >= 400 for op in SIGNED_IN)
