"""OpenTelemetry traces: one trace per execution, from the API call (or the trigger) through
the executor to each task run on the worker.

Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set:
then `configure` builds no tracer provider, nothing of the SDK is imported, and every
function here returns at once (a context manager that yields a no-op span, no headers).

The trace of an execution is named by its id: the trace id and the root span id are
derived from the execution id (`execution_trace`), so every service, at any time, after any
restart or replay, knows the execution's trace without storing anything. The root is the
span of whatever created the execution (the API call, the scheduler's fire, the webhook),
or the executor's span for a request that came without a trace. The W3C `traceparent`
header on the Kafka records says which span caused a record: a worker's task-run span is
the child of the executor span that sent its task; an executor span is a child of the root
and links to the span that sent its record (the worker's, a kill request's ...). A trace
from elsewhere (an HTTP client's `traceparent`, the parent execution of a subflow, the
execution that fired a flow trigger) is linked, never joined, so an execution is always
exactly one trace. Sampling (`OTEL_TRACES_SAMPLER`, default `parentbased_always_on`) is
decided on the trace id, hence the same in every service for one execution.

Span names and attributes are in README.md ("Traces"); attribute names follow Kestra's
(`kestra.executionId` ...).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span

    from ostinato.tracing.otel import Tracing

__all__ = [
    "ATTEMPT", "EVENT", "EXECUTION_ID", "FLOW_ID", "NAMESPACE", "STATE", "TASK_ID", "TASK_RUN_ID",
    "TASK_TYPE", "TENANT_ID", "TRIGGER_ID", "Headers", "configure", "disable", "enabled",
    "execution_root", "execution_span", "execution_trace", "record_headers", "set_state",
    "traceparent_of",
]

#: span attributes (Kestra's names)
TENANT_ID = "kestra.tenantId"
NAMESPACE = "kestra.namespace"
FLOW_ID = "kestra.flowId"
EXECUTION_ID = "kestra.executionId"
TASK_ID = "kestra.taskId"
TASK_TYPE = "kestra.taskType"
TASK_RUN_ID = "kestra.taskRunId"
ATTEMPT = "kestra.attempt"
STATE = "kestra.state"
TRIGGER_ID = "kestra.triggerId"
#: the executor's event (ExecutionRequested, WorkerTaskResult ...)
EVENT = "ostinato.event"

#: a Kafka record's headers as confluent-kafka gives them
Headers = Sequence[tuple[str, bytes | str | None]]

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")

_tracing: Tracing | None = None


class _Off(AbstractContextManager["Span"]):
    """What every span function returns when tracing is off: yields a span that records
    nothing (OpenTelemetry's INVALID_SPAN, whose methods do nothing)."""

    def __enter__(self) -> Span:
        from opentelemetry.trace import INVALID_SPAN

        return INVALID_SPAN

    def __exit__(self, *_: object) -> None:
        return None


_OFF = _Off()


def configure(service: str, *, exporter: SpanExporter | None = None) -> bool:
    """Turn tracing on for this process when an OTLP endpoint is set (or `exporter` is
    given: tests, spans exported at once); returns whether it is on. The service name is
    `OTEL_SERVICE_NAME`, else `ostinato-<service>`. OTEL_SDK_DISABLED=true or
    OTEL_TRACES_EXPORTER=none keep it off."""
    global _tracing
    if exporter is None and not _wanted():
        return False
    from ostinato.tracing.otel import Tracing

    disable()
    _tracing = Tracing.build(service, exporter)
    return True


def _wanted() -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    return any(os.environ.get(name, "").strip() for name in ENDPOINT_VARIABLES)


def disable() -> None:
    """Turn tracing off, exporting what was recorded first."""
    global _tracing
    if _tracing is not None:
        current, _tracing = _tracing, None
        current.shutdown()


def enabled() -> bool:
    return _tracing is not None


def execution_trace(execution_id: str) -> tuple[int, int]:
    """The trace id and the root span id of an execution's trace, derived from its id."""
    digest = hashlib.sha256(f"ostinato execution {execution_id}".encode()).digest()
    return (int.from_bytes(digest[:16], "big") or 1), (int.from_bytes(digest[16:24], "big") or 1)


def execution_root(execution_id: str, name: str, *, attributes: Mapping[str, Any] | None = None,
                   linked: str | None = None, server: bool = False,
                   start: datetime | None = None) -> AbstractContextManager[Span]:
    """The root span of an execution's trace (its ids derived from the execution id), made
    current: the span of whatever creates the execution. `linked`: a `traceparent` from
    another trace (an HTTP client's, an upstream execution's), kept as a link. `server`:
    the span of an HTTP request (kind SERVER). `start`: when it began (default now)."""
    if _tracing is None:
        return _OFF
    return _tracing.root(execution_id, name, attributes=attributes, linked=linked,
                         server=server, start=start)


def execution_span(execution_id: str, name: str, headers: Headers | None, *,
                   attributes: Mapping[str, Any] | None = None, child_of_record: bool = False,
                   may_be_root: bool = False) -> AbstractContextManager[Span]:
    """The span of handling one record of an execution, made current (so that the records
    produced meanwhile carry its `traceparent`). Its parent is the execution's root span,
    or, with `child_of_record`, the span that sent the record (its `traceparent` header),
    when that is in the execution's trace; a span it does not take as parent is linked.
    `may_be_root`: a record that creates the execution (a request), which becomes the root
    when it does not come from a span of the execution's trace (sent by an untraced or
    other-traced producer)."""
    if _tracing is None:
        return _OFF
    return _tracing.span(execution_id, name, traceparent_of(headers), attributes=attributes,
                         child_of_record=child_of_record, may_be_root=may_be_root)


def record_headers() -> list[tuple[str, bytes]] | None:
    """The `traceparent` header of the current span, for a record produced now; None when
    tracing is off or no span is current."""
    if _tracing is None:
        return None
    return _tracing.current_headers()


def traceparent_of(headers: Headers | None) -> str | None:
    """The `traceparent` header among a record's headers."""
    for key, value in headers or ():
        if key.lower() == "traceparent" and value is not None:
            return value.decode("ascii", "replace") if isinstance(value, bytes) else value
    return None


def set_state(span: Span, state: str, *, failed: bool = False) -> None:
    """End-state of what a span covers: `kestra.state`, and the span's status ERROR when it
    `failed`."""
    if not span.is_recording():
        return
    from opentelemetry.trace import Status, StatusCode

    span.set_attribute(STATE, str(state))
    if failed:
        span.set_status(Status(StatusCode.ERROR, f"ended {state}"))
