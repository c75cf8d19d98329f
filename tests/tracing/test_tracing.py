"""ostinato.tracing in one process, spans kept in memory: who is whose parent, what is
linked, what a record carries, and that nothing happens with tracing off."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ostinato import tracing

OTHER_TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    monkeypatch.delenv("OTEL_TRACES_SAMPLER", raising=False)
    exporter = InMemorySpanExporter()
    assert tracing.configure("test", exporter=exporter)
    yield exporter
    tracing.disable()


def header_of(span_id: int, trace_id: int, sampled: bool = True) -> list[tuple[str, bytes]]:
    return [("traceparent", f"00-{trace_id:032x}-{span_id:016x}-{int(sampled):02x}".encode())]


def finished(exporter: InMemorySpanExporter, name: str) -> ReadableSpan:
    (span,) = [s for s in exporter.get_finished_spans() if s.name == name]
    return span


def test_the_trace_of_an_execution_is_named_by_its_id() -> None:
    assert tracing.execution_trace("abc") == tracing.execution_trace("abc")
    assert tracing.execution_trace("abc") != tracing.execution_trace("abd")


def test_a_request_without_a_traced_sender_is_the_root(spans: InMemorySpanExporter) -> None:
    trace_id, root_id = tracing.execution_trace("e1")
    with tracing.execution_span("e1", "executor ExecutionRequested", None, may_be_root=True):
        produced = tracing.record_headers()
    root = finished(spans, "executor ExecutionRequested")
    assert root.parent is None and (root.context.trace_id, root.context.span_id) == (trace_id, root_id)
    assert produced == header_of(root_id, trace_id)


def test_a_request_from_another_trace_is_a_root_linked_to_it(spans: InMemorySpanExporter) -> None:
    """A subflow's child (its request sent by the parent's executor span), a client's trace."""
    with tracing.execution_span("child", "executor ExecutionRequested",
                                [("traceparent", OTHER_TRACE.encode())], may_be_root=True):
        pass
    root = finished(spans, "executor ExecutionRequested")
    assert root.parent is None and root.context.trace_id == tracing.execution_trace("child")[0]
    assert [link.context.span_id for link in root.links] == [int(OTHER_TRACE.split("-")[2], 16)]


def test_task_runs_are_children_of_their_sender_and_results_link_back(spans: InMemorySpanExporter) -> None:
    trace_id, root_id = tracing.execution_trace("e2")
    with tracing.execution_root("e2", "POST /x", server=True):
        request = tracing.record_headers()
    with tracing.execution_span("e2", "executor ExecutionRequested", request, may_be_root=True):
        task = tracing.record_headers()
    with tracing.execution_span("e2", "task t", task, child_of_record=True) as span:
        tracing.set_state(span, "FAILED", failed=True)
        result = tracing.record_headers()
    with tracing.execution_span("e2", "executor WorkerTaskResult", result):
        pass
    requested = finished(spans, "executor ExecutionRequested")
    assert requested.parent is not None and requested.parent.span_id == root_id
    run = finished(spans, "task t")
    assert run.parent is not None and run.parent.span_id == requested.context.span_id
    assert run.attributes is not None and run.attributes["kestra.state"] == "FAILED"
    assert not run.status.is_ok
    handled = finished(spans, "executor WorkerTaskResult")
    assert handled.parent is not None and handled.parent.span_id == root_id
    assert [link.context.span_id for link in handled.links] == [run.context.span_id]
    assert {s.context.trace_id for s in spans.get_finished_spans()} == {trace_id}


def test_records_of_other_traces_and_bad_headers_keep_the_execution_trace(spans: InMemorySpanExporter) -> None:
    """A kill request's own trace, a timer (no header), a malformed header."""
    trace_id, root_id = tracing.execution_trace("e3")
    for name, headers in (("kill", [("traceparent", OTHER_TRACE.encode())]), ("timer", None),
                          ("bad", [("traceparent", b"00-zz-not-a-traceparent")])):
        with tracing.execution_span("e3", name, headers, child_of_record=True):
            pass
        span = finished(spans, name)
        assert span.context.trace_id == trace_id
        assert span.parent is not None and span.parent.span_id == root_id
    assert [link.context.trace_id for link in finished(spans, "kill").links] == [
        int(OTHER_TRACE.split("-")[1], 16)]


def test_sampling_is_decided_on_the_trace_id(monkeypatch: pytest.MonkeyPatch) -> None:
    """A ratio sampler takes or drops an execution in every service alike."""
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0.5")
    exporter = InMemorySpanExporter()
    tracing.configure("test", exporter=exporter)
    try:
        decisions = {}
        for execution_id in (f"e{n}" for n in range(40)):
            with tracing.execution_span(execution_id, "worker", None) as span:
                decisions[execution_id] = span.is_recording()
            with tracing.execution_root(execution_id, "root") as root:
                assert root.is_recording() == decisions[execution_id]
    finally:
        tracing.disable()
    assert 0 < sum(decisions.values()) < 40


def test_off_builds_nothing_and_adds_no_header(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    assert tracing.configure("worker") is False and not tracing.enabled()
    with tracing.execution_span("e", "x", header_of(1, 1), may_be_root=True) as span:
        assert not span.is_recording() and tracing.record_headers() is None
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert tracing.configure("worker") is False
