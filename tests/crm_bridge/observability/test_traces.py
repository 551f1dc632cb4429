"""KEFU_OTEL_ENDPOINT: spans reach an OTLP/HTTP receiver, and the call to Rasa carries the trace
(`traceparent`) of the turn that made it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from crm_bridge.observability import tracing
from kefu.stack import free_port
from tests.app_fixtures import app_client
from tests.crm_bridge.channels.apps import wait_for
from tests.fakes.base import Request, Response
from tests.fakes.rasa_server import FakeRasa
from tests.helpers import kefu_env


@dataclass(frozen=True)
class Span:
    """What the test reads of one exported span."""

    service: str
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_id: str


class Receiver:
    """A minimal OTLP/HTTP collector: POST /v1/traces with a protobuf ExportTraceServiceRequest."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.paths: list[str] = []
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.paths.append(self.path)
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                for resource in request.resource_spans:
                    service = next(
                        (
                            a.value.string_value
                            for a in resource.resource.attributes
                            if a.key == "service.name"
                        ),
                        "",
                    )
                    for scope in resource.scope_spans:
                        for span in scope.spans:
                            receiver.spans.append(
                                Span(
                                    service,
                                    span.name,
                                    span.kind,
                                    span.trace_id.hex(),
                                    span.span_id.hex(),
                                    span.parent_span_id.hex(),
                                )
                            )
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()


class TracedRasa(FakeRasa):
    """The fake bot, keeping the traceparent header of every webhook call."""

    def __init__(self) -> None:
        super().__init__()
        self.traceparents: list[str | None] = []

    def handle(self, request: Request) -> Response:
        """Record, then answer as the fake bot does."""
        if request.method == "POST":
            self.traceparents.append(request.headers.get("traceparent"))
        return super().handle(request)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A collector for the test; tracing switched off again afterwards."""
    collector = Receiver()
    try:
        yield collector
    finally:
        tracing.stop_tracing()
        collector.stop()


def test_off_by_default(sqlite_db: str) -> None:
    rasa = TracedRasa().start()
    try:
        with kefu_env(KEFU_OTEL_ENDPOINT=""), app_client(sqlite_db, rasa_url=rasa.url) as client:
            assert client.post("/api/v1/chat", json={"user_id": "no-traces", "text": "hi"}).status_code == 200
        assert rasa.traceparents and all(header is None for header in rasa.traceparents)
    finally:
        rasa.stop()


def test_spans_are_exported_and_the_rasa_call_carries_the_turns_trace(
    sqlite_db: str, receiver: Receiver
) -> None:
    rasa = TracedRasa().start()
    try:
        with (
            kefu_env(KEFU_OTEL_ENDPOINT=receiver.url),
            app_client(sqlite_db, rasa_url=rasa.url) as client,
        ):
            response = client.post("/api/v1/chat", json={"user_id": "traced", "text": "hello traces"})
            assert [m["text"] for m in response.json()["messages"]] == ["echo: hello traces"]
            wait_for(lambda: tracing.flush() and any(s.name == "turns.process" for s in receiver.spans))
    finally:
        rasa.stop()
    assert set(receiver.paths) == {"/v1/traces"}
    turn = next(s for s in receiver.spans if s.name == "turns.process")
    assert turn.service == "kefu-crm-bridge"
    # The chat request is a server span named by its route.
    assert any(s.name == "POST /api/v1/chat" and s.kind == 2 for s in receiver.spans)  # SPAN_KIND_SERVER
    # The Rasa call: an httpx client span under the turn, whose id Rasa received in traceparent.
    header = rasa.traceparents[-1]
    assert header is not None
    version, trace_id, parent_id, _flags = header.split("-")
    assert version == "00" and trace_id == turn.trace_id
    client_span = next(s for s in receiver.spans if s.span_id == parent_id)
    assert client_span.kind == 3 and client_span.parent_id == turn.span_id  # SPAN_KIND_CLIENT


def test_the_traces_url_is_derived_from_the_base_url() -> None:
    assert tracing.traces_url("http://collector:4318") == "http://collector:4318/v1/traces"
    assert tracing.traces_url("http://collector:4318/v1/traces/") == "http://collector:4318/v1/traces"
