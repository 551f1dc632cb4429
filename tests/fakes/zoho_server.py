"""A local fake of Zoho CRM's documented REST API, because the real service cannot be reached from here.

It follows the request and answer formats of Zoho's documentation (OAuth v2 token endpoint, CRM API v8):
  POST /oauth/v2/token (refresh-token grant; {"error": "invalid_code"} on bad credentials, as HTTP 200)
  POST /crm/v8/Contacts/upsert, GET /crm/v8/Contacts/search (200, or 204 with no body),
  POST /crm/v8/Cases, PUT /crm/v8/Cases/{id}, POST /crm/v8/Notes;
  DELETE /crm/v8/{Contacts|Cases|Notes}/{id} ("record deleted"; an unknown id is HTTP 400 INVALID_DATA;
  a contact's notes go with it, as Zoho deletes a record's notes);
  401 {"code": "INVALID_TOKEN", ...} for an expired token; errors as {"code", "details", "message", "status"}.
Records live in memory. Control methods make it fail (HTTP 500/429/400) or go down (503).
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

CASE_STATUS = {"New", "On Hold", "Escalated", "Closed"}  # Zoho's default Cases picklists
CASE_PRIORITY = {"High", "Medium", "Low"}
ERROR_CODES = {400: "INVALID_DATA", 429: "TOO_MANY_REQUESTS", 500: "INTERNAL_ERROR", 503: "INTERNAL_ERROR"}


def _error(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> JSONResponse:
    return JSONResponse(
        {"code": code, "details": details or {}, "message": message, "status": "error"}, status
    )


def _record_error(code: str, api_name: str, message: str) -> JSONResponse:
    body = {"code": code, "details": {"api_name": api_name}, "message": message, "status": "error"}
    return JSONResponse({"data": [body]}, 400)


class FakeZoho:
    """The fake server: start()/stop() run uvicorn on 127.0.0.1 in a thread; state is inspectable."""

    def __init__(self, expires_in: int = 60) -> None:
        self.client_id = "1000.FAKECLIENTID"
        self.client_secret = "fake-client-secret-0123456789"
        self.refresh_token = "1000.fake-refresh-token.0123456789"
        self.expires_in = expires_in  # Zoho issues 3600 s tokens; shorter here so refresh is exercised
        self.url = ""
        self.lock = threading.Lock()
        self.reset()
        self.app = self._build()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # --- control ----------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget records, tokens, calls and failure modes."""
        with self.lock:
            self.records: dict[str, dict[str, dict[str, Any]]] = {"Contacts": {}, "Cases": {}, "Notes": {}}
            self.tokens: dict[str, float] = {}
            self.calls: list[dict[str, Any]] = []
            self.failures: list[int] = []
            self.down = False
            self.reject_tokens = False
            self._ids = itertools.count(1)

    def fail_next(self, count: int, status: int = 500) -> None:
        """The next `count` CRM API calls (not token calls) answer with `status`."""
        with self.lock:
            self.failures.extend([status] * count)

    def expire_tokens(self) -> None:
        """Every access token issued so far stops working (as if it expired early)."""
        with self.lock:
            self.tokens.clear()

    @property
    def token_calls(self) -> int:
        """How many token requests arrived."""
        return sum(1 for call in self.calls if call["path"] == "/oauth/v2/token")

    def api_calls(self, path_part: str = "/crm/") -> list[dict[str, Any]]:
        """The CRM API calls (method, path, status, json) whose path contains `path_part`."""
        return [call for call in self.calls if path_part in call["path"]]

    # --- server -----------------------------------------------------------------------------------

    def start(self) -> None:
        """Serve on a free port of 127.0.0.1 until stop()."""
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake Zoho server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        """Shut the server down."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)

    # --- the API ----------------------------------------------------------------------------------

    def _new_id(self) -> str:
        return str(4_876_876_000_000_000_000 + next(self._ids))  # Zoho ids are 19-digit numbers

    @staticmethod
    def _meta(record_id: str) -> dict[str, Any]:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        user = {"name": "Fake Admin", "id": "4876876000000100001"}
        return {
            "Modified_Time": now,
            "Modified_By": user,
            "Created_Time": now,
            "id": record_id,
            "Created_By": user,
        }

    def _success(self, record_id: str, added: bool, **extra: Any) -> JSONResponse:
        entry = {"code": "SUCCESS", **extra, "details": self._meta(record_id)}
        entry |= {"message": "record added" if added else "record updated", "status": "success"}
        return JSONResponse({"data": [entry]}, 201 if added else 200)

    def _authorised(self, request: Request) -> JSONResponse | None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Zoho-oauthtoken "):
            return _error(401, "AUTHENTICATION_FAILURE", "Authentication failed")
        expiry = self.tokens.get(header.removeprefix("Zoho-oauthtoken "))
        if self.reject_tokens or expiry is None or expiry < time.monotonic():
            return _error(401, "INVALID_TOKEN", "invalid oauth token")
        return None

    def _build(self) -> FastAPI:
        app = FastAPI()
        fake = self

        @app.middleware("http")
        async def control(request: Request, call_next: Any) -> Response:
            body = await request.body()
            call: dict[str, Any] = {"method": request.method, "path": request.url.path}
            call["params"] = dict(request.query_params)
            with fake.lock:
                fake.calls.append(call)
                failure = fake.failures.pop(0) if fake.failures and "/crm/" in request.url.path else None
                down = fake.down
            if request.headers.get("content-type") == "application/json" and body:
                call["json"] = json.loads(body)
            if down:
                response: Response = _error(503, "INTERNAL_ERROR", "service temporarily unavailable")
            elif failure is not None:
                response = _error(failure, ERROR_CODES.get(failure, "INTERNAL_ERROR"), "injected failure")
            else:
                response = await call_next(request)
            call["status"] = response.status_code
            return response

        @app.post("/oauth/v2/token")
        async def token(request: Request) -> JSONResponse:
            form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
            ok = form.get("grant_type") == "refresh_token" and (
                form.get("client_id"),
                form.get("client_secret"),
                form.get("refresh_token"),
            ) == (fake.client_id, fake.client_secret, fake.refresh_token)
            if not ok:
                return JSONResponse({"error": "invalid_code"}, 200)
            access = f"1000.fakeaccess{fake._new_id()}.{int(time.time())}"
            with fake.lock:
                fake.tokens[access] = time.monotonic() + fake.expires_in
            api_domain = "https://www.zohoapis.com"  # what Zoho answers; the connector's override points here
            body = {"access_token": access, "scope": "ZohoCRM.modules.ALL", "api_domain": api_domain}
            return JSONResponse(body | {"token_type": "Bearer", "expires_in": fake.expires_in})

        @app.post("/crm/v8/Contacts/upsert")
        async def upsert(request: Request) -> Response:
            if (denied := fake._authorised(request)) is not None:
                return denied
            payload = await request.json()
            record = payload["data"][0]
            if not record.get("Last_Name"):
                return _record_error("MANDATORY_NOT_FOUND", "Last_Name", "required field not found")
            fields = payload.get("duplicate_check_fields") or ["Email"]
            with fake.lock:
                for record_id, existing in fake.records["Contacts"].items():
                    for field in fields:
                        value = record.get(field)
                        if value and str(existing.get(field, "")).lower() == str(value).lower():
                            existing.update(record)
                            return fake._success(record_id, False, duplicate_field=field, action="update")
                record_id = fake._new_id()
                fake.records["Contacts"][record_id] = dict(record, id=record_id)
            return fake._success(record_id, True, duplicate_field=None, action="insert")

        @app.get("/crm/v8/Contacts/search")
        async def search(request: Request) -> Response:
            if (denied := fake._authorised(request)) is not None:
                return denied
            email, phone = request.query_params.get("email"), request.query_params.get("phone")
            if not email and not phone:
                return _error(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing")
            found = [
                dict(r)
                for r in fake.records["Contacts"].values()
                if (email and str(r.get("Email", "")).lower() == email.lower())
                or (phone and r.get("Phone") == phone)
            ]
            if not found:
                return Response(status_code=204)
            info = {"per_page": 200, "count": len(found), "page": 1, "more_records": False}
            return JSONResponse({"data": found, "info": info})

        @app.post("/crm/v8/{module}")
        async def create(module: str, request: Request) -> Response:
            if (denied := fake._authorised(request)) is not None:
                return denied
            if module not in ("Cases", "Notes"):
                return _error(400, "INVALID_MODULE", "the module name given seems to be invalid")
            record = (await request.json())["data"][0]
            problem = fake._check(module, record)
            if problem is not None:
                return problem
            with fake.lock:
                record_id = fake._new_id()
                fake.records[module][record_id] = dict(record, id=record_id)
            return fake._success(record_id, True)

        @app.put("/crm/v8/Cases/{record_id}")
        async def update(record_id: str, request: Request) -> Response:
            if (denied := fake._authorised(request)) is not None:
                return denied
            if record_id not in fake.records["Cases"]:
                return _record_error("INVALID_DATA", "id", "the related id given seems to be invalid")
            record = (await request.json())["data"][0]
            problem = fake._check("Cases", {**fake.records["Cases"][record_id], **record})
            if problem is not None:
                return problem
            with fake.lock:
                fake.records["Cases"][record_id].update(record)
            return fake._success(record_id, False)

        @app.delete("/crm/v8/{module}/{record_id}")
        async def delete(module: str, record_id: str, request: Request) -> Response:
            if (denied := fake._authorised(request)) is not None:
                return denied
            if module not in fake.records:
                return _error(400, "INVALID_MODULE", "the module name given seems to be invalid")
            with fake.lock:
                if fake.records[module].pop(record_id, None) is None:
                    body = {"code": "INVALID_DATA", "details": {"id": record_id}}
                    return JSONResponse(
                        {"data": [body | {"message": "record not deleted", "status": "error"}]}, 400
                    )
                if module == "Contacts":
                    notes = fake.records["Notes"]
                    for note_id in [
                        k for k, n in notes.items() if n.get("Parent_Id", {}).get("id") == record_id
                    ]:
                        del notes[note_id]
            entry = {"code": "SUCCESS", "details": {"id": record_id}, "message": "record deleted"}
            return JSONResponse({"data": [entry | {"status": "success"}]})

        return app

    def _check(self, module: str, record: dict[str, Any]) -> JSONResponse | None:
        """Zoho's validation for the fields kefu sends: mandatory fields, picklists, lookups."""
        contacts = self.records["Contacts"]
        if module == "Cases":
            for field in ("Subject", "Status", "Case_Origin"):
                if not record.get(field):
                    return _record_error("MANDATORY_NOT_FOUND", field, "required field not found")
            if record["Status"] not in CASE_STATUS:
                return _record_error("INVALID_DATA", "Status", "invalid data")
            if record.get("Priority", "Medium") not in CASE_PRIORITY:
                return _record_error("INVALID_DATA", "Priority", "invalid data")
            related = record.get("Related_To")
            if related is not None and related.get("id") not in contacts:
                return _record_error("INVALID_DATA", "Related_To", "the related id given seems to be invalid")
            return None
        parent = record.get("Parent_Id") or {}
        if parent.get("module", {}).get("api_name") != "Contacts" or parent.get("id") not in contacts:
            return _record_error("INVALID_DATA", "Parent_Id", "the related id given seems to be invalid")
        if not record.get("Note_Content"):
            return _record_error("MANDATORY_NOT_FOUND", "Note_Content", "required field not found")
        return None
