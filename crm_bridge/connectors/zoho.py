"""Zoho CRM connector: Contacts, Cases and Notes over the v8 REST API, with the OAuth refresh-token flow.

Kefu ticket status -> Zoho Case "Status" (Zoho's default picklist is New / On Hold / Escalated / Closed):
  new -> New; open -> Escalated (a person is working on it); pending -> On Hold (waiting for the customer);
  resolved -> Closed; closed -> Closed.
Kefu priority -> Zoho Case "Priority" (Low / Medium / High):
  low -> Low; normal -> Medium; high and urgent -> High.
Feedback becomes a Note on the contact, because Zoho CRM has no feedback module.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from crm_bridge.connectors.base import ConnectorError, ContactPayload, FeedbackPayload, TicketPayload

log = logging.getLogger("kefu.connectors.zoho")

STATUS = {"new": "New", "open": "Escalated", "pending": "On Hold", "resolved": "Closed", "closed": "Closed"}
PRIORITY = {"low": "Low", "normal": "Medium", "high": "High", "urgent": "High"}
UNKNOWN_LAST_NAME = "(unknown)"  # Last_Name is mandatory in Zoho; chat contacts often have no name


class ZohoSettings(BaseSettings):
    """Zoho credentials from KEFU_ZOHO_* environment variables (a self-client's refresh token)."""

    model_config = SettingsConfigDict(env_prefix="KEFU_ZOHO_", env_file=".env", extra="ignore")

    accounts_url: str = "https://accounts.zoho.com"
    api_domain: str | None = None  # overrides the api_domain the token answer names
    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    refresh_token: SecretStr = SecretStr("")
    timeout_s: float = 15.0

    @property
    def configured(self) -> bool:
        """True when the client id, secret and refresh token are all set."""
        return bool(
            self.client_id and self.client_secret.get_secret_value() and self.refresh_token.get_secret_value()
        )


class _HideCrmQuery(logging.Filter):
    """httpx logs every request URL at INFO; Zoho search URLs carry an email or phone, so drop the query."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                arg.copy_with(query=None) if isinstance(arg, httpx.URL) and "/crm/" in arg.path else arg
                for arg in record.args
            )
        return True


logging.getLogger("httpx").addFilter(_HideCrmQuery())


def split_name(name: str | None) -> tuple[str | None, str]:
    """(First_Name, Last_Name): the last word is the last name; '(unknown)' when there is no name."""
    words = (name or "").split()
    if not words:
        return None, UNKNOWN_LAST_NAME
    return (" ".join(words[:-1]) or None), words[-1]


def _json(resp: httpx.Response) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error_code(resp: httpx.Response) -> str:
    """Zoho's error code (and the field it names): never the message, which may echo submitted values."""
    body = _json(resp)
    data = body.get("data")
    entry = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else body
    code = str(entry.get("code") or entry.get("error") or "")
    details = entry.get("details")
    field = details.get("api_name") if isinstance(details, dict) else None
    return f"{code} ({field})" if field else code


class ZohoConnector:
    """CRMConnector for Zoho CRM; thread-safe token cache, one httpx client."""

    def __init__(
        self,
        settings: ZohoSettings,
        *,
        client: httpx.Client | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._client = client or httpx.Client(timeout=settings.timeout_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self._api_domain = ""

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()

    # --- OAuth -------------------------------------------------------------------------------------

    def _access_token(self) -> str:
        # Zoho allows only a few token refreshes per refresh token per minutes, so reuse until near expiry.
        with self._lock:
            if self._token is not None and self._clock() < self._expires_at:
                return self._token
            return self._refresh()

    def _refresh(self) -> str:
        s = self.settings
        form = {
            "grant_type": "refresh_token",
            "client_id": s.client_id,
            "client_secret": s.client_secret.get_secret_value(),
            "refresh_token": s.refresh_token.get_secret_value(),
        }
        try:
            resp = self._client.post(f"{s.accounts_url.rstrip('/')}/oauth/v2/token", data=form)
        except httpx.HTTPError as exc:
            raise ConnectorError(f"zoho token refresh: {type(exc).__name__}", retryable=True) from None
        if resp.status_code == 429 or resp.status_code >= 500:
            raise ConnectorError(f"zoho token refresh: HTTP {resp.status_code}", retryable=True)
        body = _json(resp)
        token = body.get("access_token")
        if resp.status_code >= 400 or not isinstance(token, str) or not token:
            # Zoho answers a bad client or refresh token with {"error": "invalid_code"}, often as HTTP 200.
            reason = body.get("error") or f"HTTP {resp.status_code}"
            raise ConnectorError(f"zoho token refresh refused: {reason}", retryable=False)
        expires_in = float(body.get("expires_in") or 3600)
        self._token = token
        self._expires_at = self._clock() + expires_in - min(60.0, expires_in / 10)
        self._api_domain = (s.api_domain or body.get("api_domain") or "https://www.zohoapis.com").rstrip("/")
        log.info("zoho access token refreshed, valid %d s", int(expires_in))
        return token

    def _forget(self, token: str) -> None:
        with self._lock:
            if self._token == token:
                self._token = None

    # --- HTTP --------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, what: str, **kwargs: Any) -> httpx.Response:
        """One API call; a 401 (token expired or revoked early) refreshes the token and retries once."""
        for attempt in (1, 2):
            token = self._access_token()
            headers = {"Authorization": f"Zoho-oauthtoken {token}"}
            try:
                resp = self._client.request(
                    method, f"{self._api_domain}/crm/v8/{path}", headers=headers, **kwargs
                )
            except httpx.HTTPError as exc:
                # The type only: the message could carry the URL, and search URLs hold emails or phones.
                raise ConnectorError(f"zoho {what}: {type(exc).__name__}", retryable=True) from None
            if resp.status_code == 401 and attempt == 1:
                log.info("zoho answered 401 (%s); refreshing the token", _error_code(resp))
                self._forget(token)
                continue
            break
        if resp.status_code >= 400:
            retryable = resp.status_code == 429 or resp.status_code >= 500
            raise ConnectorError(
                f"zoho {what}: HTTP {resp.status_code} {_error_code(resp)}", retryable=retryable
            )
        return resp

    def _record_id(self, resp: httpx.Response, what: str) -> str:
        """The id in a {"data": [{"status": "success", "details": {"id"}}]} answer, else a ConnectorError."""
        data = _json(resp).get("data")
        entry = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
        details = entry.get("details")
        if entry.get("status") != "success" or not isinstance(details, dict) or not details.get("id"):
            raise ConnectorError(f"zoho {what}: {_error_code(resp) or 'unexpected answer'}", retryable=False)
        return str(details["id"])

    # --- CRMConnector ------------------------------------------------------------------------------

    def find_contact(self, *, email: str | None = None, phone: str | None = None) -> str | None:
        """Search Contacts by email, then by phone; None when Zoho answers 204 (no match)."""
        for field, value in (("email", email), ("phone", phone)):
            if not value:
                continue
            resp = self._call("GET", "Contacts/search", "contact search", params={field: value})
            data = _json(resp).get("data") if resp.status_code != 204 and resp.content else None
            if isinstance(data, list) and data and isinstance(data[0], dict) and data[0].get("id"):
                return str(data[0]["id"])
        return None

    def upsert_contact(self, contact: ContactPayload) -> str:
        """Contacts upsert, matched on Email (Phone when there is no email)."""
        first, last = split_name(contact.name)
        record: dict[str, Any] = {"Last_Name": last}
        if first:
            record["First_Name"] = first
        if contact.email:
            record["Email"] = contact.email
        if contact.phone:
            record["Phone"] = contact.phone
        body: dict[str, Any] = {"data": [record]}
        if contact.email or contact.phone:
            body["duplicate_check_fields"] = ["Email"] if contact.email else ["Phone"]
        resp = self._call("POST", "Contacts/upsert", "contact upsert", json=body)
        return self._record_id(resp, "contact upsert")

    @staticmethod
    def _case(ticket: TicketPayload) -> dict[str, Any]:
        description = (ticket.description or "").strip()
        return {
            "Subject": ticket.subject[:255],
            # The kefu number lets an agent in Zoho find the ticket in kefu.
            "Description": f"{description}\n\n(kefu {ticket.number})"
            if description
            else f"(kefu {ticket.number})",
            "Status": STATUS.get(ticket.status, "New"),
            "Priority": PRIORITY.get(ticket.priority, "Medium"),
        }

    def create_ticket(self, ticket: TicketPayload, contact_external_id: str | None) -> str:
        """A new Case from chat, related to the contact when known."""
        record = self._case(ticket) | {"Case_Origin": "Chat"}
        if contact_external_id:
            record["Related_To"] = {"id": contact_external_id}
        resp = self._call("POST", "Cases", "case create", json={"data": [record]})
        return self._record_id(resp, "case create")

    def update_ticket(self, external_id: str, ticket: TicketPayload) -> None:
        """Update the Case's subject, description, status and priority."""
        resp = self._call(
            "PUT", f"Cases/{quote(external_id, safe='')}", "case update", json={"data": [self._case(ticket)]}
        )
        self._record_id(resp, "case update")

    def write_feedback(self, feedback: FeedbackPayload, contact_external_id: str | None) -> str:
        """A Note on the contact: title 'CSAT n/5', content with NPS, ticket and comment."""
        if not contact_external_id:
            raise ConnectorError("zoho feedback: a note needs a contact", retryable=False)
        lines = [f"Customer satisfaction: {feedback.rating}/5"]
        if feedback.nps is not None:
            lines.append(f"NPS: {feedback.nps}/10")
        if feedback.ticket_number:
            lines.append(f"kefu ticket: {feedback.ticket_number}")
        if feedback.comment:
            lines += ["", feedback.comment]
        note = {
            "Note_Title": f"CSAT {feedback.rating}/5",
            "Note_Content": "\n".join(lines),
            "Parent_Id": {"module": {"api_name": "Contacts"}, "id": contact_external_id},
        }
        resp = self._call("POST", "Notes", "note create", json={"data": [note]})
        return self._record_id(resp, "note create")

    def _delete(self, module: str, record_id: str) -> None:
        """Delete one record; one Zoho no longer has (deleted already, e.g. by an earlier try) is fine."""
        what = f"{module.lower()} delete"
        try:
            resp = self._call("DELETE", f"{module}/{quote(record_id, safe='')}", what)
        except ConnectorError as exc:
            # Zoho answers an unknown id with HTTP 400 and the code INVALID_DATA (not a 404).
            if not exc.retryable and str(exc).startswith(f"zoho {what}: HTTP 400 INVALID_DATA"):
                return
            raise
        self._record_id(resp, what)

    def erase_contact(
        self,
        contact_external_id: str | None,
        *,
        ticket_external_ids: Sequence[str] = (),
        feedback_external_ids: Sequence[str] = (),
    ) -> None:
        """Delete the feedback Notes, the Cases and the Contact (Zoho keeps deleted records in its recycle
        bin for 60 days, where only Zoho administrators see them)."""
        for note_id in feedback_external_ids:
            self._delete("Notes", note_id)
        for case_id in ticket_external_ids:
            self._delete("Cases", case_id)
        if contact_external_id:
            self._delete("Contacts", contact_external_id)
