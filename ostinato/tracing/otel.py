"""The OpenTelemetry side of `ostinato.tracing`, imported only once tracing is on: the
tracer provider, the execution-derived ids and the W3C `traceparent` of Kafka records."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from contextlib import AbstractContextManager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import (
    Link, NonRecordingSpan, Span, SpanContext, SpanKind, TraceFlags, Tracer, get_current_span,
    set_span_in_context, use_span,
)

from ostinato.tracing import EXECUTION_ID, execution_trace

#: version-00 `traceparent` (a later version may append fields: they are ignored)
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")

#: (trace id, span id) the next span must take: an execution's root (set around one start)
_FORCED: ContextVar[tuple[int, int] | None] = ContextVar("ostinato_forced_span_ids", default=None)


class _ExecutionIds(RandomIdGenerator):
    """Random ids, except for an execution's root span, whose ids are its execution's."""

    def generate_trace_id(self) -> int:
        forced = _FORCED.get()
        return forced[0] if forced is not None else super().generate_trace_id()

    def generate_span_id(self) -> int:
        forced = _FORCED.get()
        return forced[1] if forced is not None else super().generate_span_id()


def parse_traceparent(text: str | None) -> SpanContext | None:
    """The remote span a W3C `traceparent` names; None when absent or invalid."""
    match = _TRACEPARENT.fullmatch(text.strip()) if text else None
    if match is None:
        return None
    version, trace_hex, span_hex, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest):
        return None
    trace_id, span_id = int(trace_hex, 16), int(span_hex, 16)
    if not trace_id or not span_id:
        return None
    return SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(int(flags, 16) & 1))


def format_traceparent(context: SpanContext) -> str:
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags) & 1:02x}"


def _service_resource(service: str) -> Resource:
    """OTEL_SERVICE_NAME (or service.name in OTEL_RESOURCE_ATTRIBUTES), else ostinato-<service>."""
    named = os.environ.get("OTEL_SERVICE_NAME", "").strip() or \
        "service.name=" in os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "")
    return Resource.create({} if named else {SERVICE_NAME: f"ostinato-{service}"})


@dataclass
class Tracing:
    provider: TracerProvider
    tracer: Tracer

    @classmethod
    def build(cls, service: str, exporter: SpanExporter | None) -> Tracing:
        """A provider exporting over OTLP/HTTP in batches (its endpoint, headers, timeouts,
        sampler and batch delays from the standard OTEL_* variables), or to `exporter` at
        once."""
        provider = TracerProvider(resource=_service_resource(service), id_generator=_ExecutionIds())
        if exporter is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        else:
            provider.add_span_processor(SimpleSpanProcessor(exporter))
        return cls(provider, provider.get_tracer("ostinato"))

    def shutdown(self) -> None:
        self.provider.shutdown()

    def root(self, execution_id: str, name: str, *, attributes: Mapping[str, Any] | None,
             linked: str | None, server: bool, start: datetime | None) -> AbstractContextManager[Span]:
        trace_id, root_id = execution_trace(execution_id)
        other = parse_traceparent(linked)
        links = [Link(other)] if other is not None and other.trace_id != trace_id else []
        return self._start(name, Context(), SpanKind.SERVER if server else SpanKind.INTERNAL,
                           {EXECUTION_ID: execution_id, **(attributes or {})}, links, start,
                           forced=(trace_id, root_id))

    def span(self, execution_id: str, name: str, traceparent: str | None, *,
             attributes: Mapping[str, Any] | None, child_of_record: bool,
             may_be_root: bool) -> AbstractContextManager[Span]:
        trace_id, root_id = execution_trace(execution_id)
        sender = parse_traceparent(traceparent)
        ours = sender is not None and sender.trace_id == trace_id
        attributes = {EXECUTION_ID: execution_id, **(attributes or {})}
        if may_be_root and not ours:
            links = [Link(sender)] if sender is not None else []
            return self._start(name, Context(), SpanKind.CONSUMER, attributes, links, None,
                               forced=(trace_id, root_id))
        if child_of_record and sender is not None and ours:
            parent = sender
        else:
            flags = sender.trace_flags if sender is not None and ours else self._root_flags(trace_id)
            parent = SpanContext(trace_id, root_id, is_remote=True, trace_flags=flags)
        links = [Link(sender)] if sender is not None and sender.span_id != parent.span_id else []
        return self._start(name, set_span_in_context(NonRecordingSpan(parent)), SpanKind.CONSUMER,
                           attributes, links, None, forced=None)

    def current_headers(self) -> list[tuple[str, bytes]] | None:
        context = get_current_span().get_span_context()
        if not context.is_valid:
            return None
        return [("traceparent", format_traceparent(context).encode("ascii"))]

    def _root_flags(self, trace_id: int) -> TraceFlags:
        """The sampling decision of an execution's root, made again from its trace id (the
        record that would carry it came without one): the same in every service."""
        result = self.provider.sampler.should_sample(Context(), trace_id, "execution")
        return TraceFlags(TraceFlags.SAMPLED if result.decision.is_sampled() else TraceFlags.DEFAULT)

    def _start(self, name: str, context: Context, kind: SpanKind, attributes: Mapping[str, Any],
               links: list[Link], start: datetime | None,
               forced: tuple[int, int] | None) -> AbstractContextManager[Span]:
        token = _FORCED.set(forced)
        try:
            span = self.tracer.start_span(
                name, context=context, kind=kind, attributes=dict(attributes), links=links,
                start_time=None if start is None else int(start.timestamp() * 1e9))
        finally:
            _FORCED.reset(token)
        return use_span(span, end_on_exit=True)
