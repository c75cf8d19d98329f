"""A real OTLP/HTTP trace receiver for tests: `POST /v1/traces` with a protobuf
`ExportTraceServiceRequest`, as OpenTelemetry's exporters send it (gzip or not)."""

from __future__ import annotations

import gzip
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest, ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    name: str
    trace_id: str
    span_id: str
    #: the parent's span id, None for a root
    parent: str | None
    kind: int
    attributes: dict[str, Any]
    #: the span ids it links to
    links: tuple[str, ...]
    status: int

    def __str__(self) -> str:
        return f"{self.service}: {self.name} {self.span_id} <- {self.parent}"


def _value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    return None if which is None else getattr(value, which)


def _attributes(pairs: Any) -> dict[str, Any]:
    return {pair.key: _value(pair.value) for pair in pairs if isinstance(pair, KeyValue)}


@dataclass
class OtlpReceiver:
    """Collects every span POSTed to it; `url` is what OTEL_EXPORTER_OTLP_ENDPOINT takes."""

    spans: list[ReceivedSpan] = field(default_factory=list)
    requests: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path != "/v1/traces":
                    self.send_response(404)
                    self.end_headers()
                    return
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                receiver.add(ExportTraceServiceRequest.FromString(body))
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_: Any) -> None:  # quiet
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add(self, request: ExportTraceServiceRequest) -> None:
        received = []
        for resource_spans in request.resource_spans:
            service = str(_attributes(resource_spans.resource.attributes).get("service.name"))
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    received.append(ReceivedSpan(
                        service=service, name=span.name, trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(), parent=span.parent_span_id.hex() or None,
                        kind=span.kind, attributes=_attributes(span.attributes),
                        links=tuple(link.span_id.hex() for link in span.links),
                        status=span.status.code))
        with self._lock:
            self.requests += 1
            self.spans.extend(received)

    def of_trace(self, trace_id: str) -> list[ReceivedSpan]:
        with self._lock:
            return [span for span in self.spans if span.trace_id == trace_id]

    def wait_for(self, trace_id: str, complete: Callable[[list[ReceivedSpan]], bool], *,
                 what: str, timeout: float = 60.0) -> list[ReceivedSpan]:
        """The spans of `trace_id` once `complete(spans)` holds; fails naming `what` and
        the spans received after `timeout` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            spans = self.of_trace(trace_id)
            if complete(spans):
                return spans
            time.sleep(0.05)
        seen = "\n".join(str(span) for span in self.of_trace(trace_id))
        raise AssertionError(f"{what}: not within {timeout} s; spans of trace {trace_id}:\n{seen}"
                             f"\n({len(self.spans)} spans in {self.requests} requests in all)")

    def wait_for_any(self, complete: Callable[[list[ReceivedSpan]], bool], *, what: str,
                     timeout: float = 60.0) -> list[ReceivedSpan]:
        """The spans of the first trace for which `complete(spans)` holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                traces = {span.trace_id for span in self.spans}
            for trace_id in sorted(traces):
                spans = self.of_trace(trace_id)
                if complete(spans):
                    return spans
            time.sleep(0.05)
        raise AssertionError(f"{what}: not within {timeout} s ({len(self.spans)} spans received: "
                             f"{sorted({span.name for span in self.spans})})")
