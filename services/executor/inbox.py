"""One inbox record, handled so that nothing it does stops the executor (DESIGN.md,
invariant 9).

A record that does not decode, or whose key is not its execution's id, goes to the dead
letters. Any exception while applying one (its flow, the decider, rendering, encoding, a
record too large to produce) fails that execution through the decider's own `Fault` (or
`ExecutionRefused` for a request that made no execution yet), with the error and a short
traceback in its logs, and sends the record to the dead letters with the reason.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable

from ostinato import interpret, tracing
from ostinato.decider import Decision, Settings, decide
from ostinato.decider import events as ev
from ostinato.execution.model import Execution
from ostinato.flow.durations import format_duration
from ostinato.flow.model import Flow
from ostinato.kafka.flow_table import FlowTable
from ostinato.kafka.messages import Received
from ostinato.logging import get_logger
from ostinato.management import StandardMetrics
from ostinato.store.executions import StoreBatch
from ostinato.tracing.attributes import creates_execution, describe_execution, event_attributes
from ostinato.wire import records as rec
from ostinato.wire.codec import Codec, MalformedRecord
from ostinato.services.executor.admission import flow_key
from ostinato.services.executor.emitter import Emitter, Sink
from ostinato.services.executor.limits import context_overflow, failed_for_context
from ostinato.services.executor.retention import Retention
from ostinato.services.executor.state import ExecutorState, Live
from ostinato.services.executor.waits import FlowWaits

log = get_logger(component="executor")

Decide = Callable[[Flow | None, Execution | None, ev.Event, Settings | None], Decision]

#: frames of a fault's traceback kept in the execution's logs (the innermost ones)
TRACEBACK_FRAMES = 4


class DeliveryRefused(RuntimeError):
    """The broker refused a record that handling an event produced."""


def describe(error: BaseException) -> str:
    """The error and a short traceback (its innermost frames), for an execution's logs."""
    frames = traceback.format_tb(error.__traceback__)[-TRACEBACK_FRAMES:]
    return (f"{type(error).__name__}: {error}\nTraceback (innermost {len(frames)} frames):\n"
            + "".join(frames)).rstrip()


class InboxHandler:
    def __init__(self, codec: Codec, flows: FlowTable, state: ExecutorState, emitter: Emitter,
                 waits: FlowWaits, *, context_limit: int, settings: Settings,
                 retention: Retention | None = None, metrics: StandardMetrics | None = None,
                 decide: Decide = decide) -> None:
        self.codec = codec
        self.flows = flows
        self.state = state
        self.emitter = emitter
        self.waits = waits
        self.context_limit = context_limit
        self.settings = settings
        self.retention = retention
        self.metrics = metrics
        self.decide = decide
        #: (partition, offset) of a record whose batch could not be delivered even alone ->
        #: (how many times, the delivery error): see `_undeliverable`
        self.undeliverable: dict[tuple[int, int], tuple[int, str]] = {}

    def handle(self, message: Received, sink: Sink, batch: StoreBatch) -> bool:
        """Apply one inbox record; False when it must wait (its flow has not arrived)."""
        try:
            name, record = self.codec.decode(message.value)
            event = rec.record_to_event(name, record)
        except (MalformedRecord, ValueError, KeyError, TypeError) as error:
            reason = getattr(error, "reason", None) or f"{type(error).__name__}: {error}"
            self.dead_letter(message, reason, sink)
            return True
        if message.key != event.execution_id:
            self.dead_letter(message, f"refused: the record's key `{message.key}` is not the id of "
                                      f"its execution `{event.execution_id}` (a record is keyed by "
                                      f"its execution id, so that one executor owns it)", sink)
            return True
        strikes = self.undeliverable.get((message.partition, message.offset))
        if strikes is not None:
            self._undeliverable(message, event, strikes, sink, batch)
            return True
        started = time.perf_counter()
        # a span per event; the records it produces carry its traceparent (ostinato/tracing)
        with tracing.execution_span(event.execution_id, f"executor {name}", message.headers,
                                    attributes=event_attributes(name, event),
                                    may_be_root=creates_execution(event)) as span:
            try:
                done = self._apply(message, event, sink, batch)
            except Exception as error:  # noqa: BLE001 - one event never stops the executor
                self._fail(message, event, error, sink, batch)
                done = True
            live = self.state.live.get(event.execution_id)
            describe_execution(span, None if live is None else live.execution)
        if done and self.metrics is not None:
            self.metrics.events_total.labels(type=name).inc()
            self.metrics.event_seconds.observe(time.perf_counter() - started)
        return done

    def _apply(self, message: Received, event: ev.Event, sink: Sink, batch: StoreBatch) -> bool:
        partition = message.partition
        live = self.state.load(partition, event.execution_id)
        execution = None if live is None else live.execution
        flow = self._flow_for(event, execution)
        if flow is None:
            return self._flow_missing(message, event, execution, sink, batch)
        if isinstance(event, ev.ExecutionRequested) and execution is None:
            if flow.concurrency is not None and event.admission is None:
                self._ask_admission(event, sink)
                return True
            typed = interpret.typed_request(event, flow)
            if isinstance(typed, ev.ExecutionRefused):
                self._decide_and_emit(partition, flow, None, typed, sink, batch)
                return True
            event = typed
        if isinstance(event, ev.WorkerTaskResult) and live is not None:
            event = self._within_context_limit(event, live, sink)
        self._decide_and_emit(partition, flow, execution, event, sink, batch)
        return True

    def _decide_and_emit(self, partition: int, flow: Flow | None, execution: Execution | None,
                         event: ev.Event, sink: Sink, batch: StoreBatch) -> None:
        was_finished = execution is not None and execution.finished
        decision = self.decide(flow, execution, event, self.settings)
        self.emitter.emit(partition, flow, decision, event, was_finished, sink, batch)

    def _fail(self, message: Received, event: ev.Event, error: Exception, sink: Sink,
              batch: StoreBatch) -> None:
        """Handling `event` raised: its execution ends FAILED with the error; the record goes
        to the dead letters. If even that raises, the record is dead-lettered and the
        execution is left as the store has it."""
        self.dead_letter(message, f"{type(error).__name__}: {error}", sink)
        log.error("handling an event failed its execution", executionId=event.execution_id,
                  kind=type(event).__name__, error=f"{type(error).__name__}: {error}")
        try:
            live = self.state.live.get(event.execution_id) or self.state.load(message.partition,
                                                                              event.execution_id)
            execution = None if live is None else live.execution
            flow = self._flow_for(event, execution)
            text = describe(error)
            failure: ev.Event = (interpret.refusal(event, text)
                                 if execution is None and isinstance(event, ev.ExecutionRequested)
                                 else interpret.fault(event, text))
            was_finished = execution is not None and execution.finished
            decision = self.decide(flow, execution, failure, self.settings)
            if decision.execution is not None:
                # the decider may have changed the execution before it raised: write it all
                decision.changed = [run.id for run in decision.execution.task_run_list]
            self.emitter.emit(message.partition, flow, decision, failure, was_finished, sink, batch,
                              faulted=True)
        except Exception as second:  # noqa: BLE001
            self.state.live.pop(event.execution_id, None)  # read again from the store
            log.error("the execution could not be failed", executionId=event.execution_id,
                      error=f"{type(second).__name__}: {second}")

    def _undeliverable(self, message: Received, event: ev.Event, strikes: tuple[int, str],
                       sink: Sink, batch: StoreBatch) -> None:
        """A record whose records the broker refused, read again: the first time its
        execution fails (with the delivery error), the second time the record is only
        dead-lettered, after that it is skipped (even its dead letter was refused)."""
        count, reason = strikes
        log.error("an event whose records were refused by the broker", executionId=event.execution_id,
                  partition=message.partition, offset=message.offset, times=count, reason=reason)
        if count == 1:
            self._fail(message, event, DeliveryRefused(reason), sink, batch)
        elif count == 2:
            self.dead_letter(message, f"the broker refused its records: {reason}", sink)

    def _flow_for(self, event: ev.Event, execution: Execution | None) -> Flow | None:
        if isinstance(event, ev.ExecutionRequested):
            return self.flows.get(event.namespace, event.flow_id, event.flow_revision, event.tenant_id)
        if isinstance(event, ev.ExecutionSeeded) and execution is None:
            source = event.source
            return self.flows.get(source.namespace, source.flow_id, source.flow_revision,
                                  source.tenant_id)
        if execution is None:
            return None
        return self.flows.get(execution.namespace, execution.flow_id, execution.flow_revision,
                              execution.tenant_id)

    def _flow_missing(self, message: Received, event: ev.Event, execution: Execution | None,
                      sink: Sink, batch: StoreBatch) -> bool:
        """Wait (bounded) for a flow revision that has not reached the flow table yet."""
        if execution is None and not isinstance(event, ev.ExecutionRequested):
            log.warning("event for an unknown execution ignored", executionId=event.execution_id,
                        kind=type(event).__name__)
            if isinstance(event, (ev.Restart, ev.Replay, ev.Resume, ev.Kill)):
                self._say_unknown(event, sink)
            return True
        if self.waits.hold(message):
            return False
        if isinstance(event, ev.ExecutionRequested):
            refused = interpret.unknown_flow(event, self.waits.wait_seconds)
            self._decide_and_emit(message.partition, None, None, refused, sink, batch)
        else:
            self.dead_letter(message, f"the flow of execution {event.execution_id} is not known "
                                      f"after {self.waits.wait_seconds} s", sink)
        return True

    def _say_unknown(self, event: ev.Event, sink: Sink) -> None:
        """A request made by a person about an execution this executor does not hold: the
        answer goes on the execution's logs, where they will look."""
        retention = self.retention
        why = ("it never existed" if retention is None else
               f"it never existed, or it finished more than {format_duration(retention.keep)} "
               "ago and was purged (the executor's --retention)")
        entry = rec.LogEntry(namespace="", flow_id="", execution_id=event.execution_id, level="ERROR",
                             message=f"{type(event).__name__} refused: the executor holds no "
                                     f"execution {event.execution_id}: {why}.",
                             timestamp=event.at)
        sink.send("logs", event.execution_id, self.codec.encode("LogEntry", rec.log_entry_record(entry)))

    def _ask_admission(self, event: ev.ExecutionRequested, sink: Sink) -> None:
        """A flow with a concurrency limit: its admission owner answers (admission.py)."""
        name, record = rec.event_to_record(event)
        sink.send("admissions", flow_key(event.tenant_id, event.namespace, event.flow_id),
                  self.codec.encode(name, record))

    def _within_context_limit(self, event: ev.WorkerTaskResult, live: Live, sink: Sink) -> ev.WorkerTaskResult:
        """A result whose outputs would push the execution past the limit fails instead."""
        if not event.outputs:  # RUNNING reports and results without outputs add nothing
            return event
        message = context_overflow(event, live.context_size(excluding=event.task_run_id),
                                   self.context_limit)
        if message is None:
            return event
        run = live.execution.find(event.task_run_id)
        entry = rec.LogEntry(namespace=live.execution.namespace, flow_id=live.execution.flow_id,
                             execution_id=event.execution_id, level="ERROR", message=message,
                             timestamp=event.at, task_run_id=event.task_run_id,
                             task_id=run.task_id if run else None, attempt=event.attempt,
                             tenant_id=live.execution.tenant_id)
        sink.send("logs", event.execution_id, self.codec.encode("LogEntry", rec.log_entry_record(entry)))
        return failed_for_context(event, message)

    def dead_letter(self, message: Received, reason: str, sink: Sink) -> None:
        """Send the record to `dead-letters` with the reason, in the batch's outbox."""
        sink.send("dead-letters", message.key, message.dead_letter(self.codec, reason))
        if self.metrics is not None:
            self.metrics.dead_letters_total.labels(topic=message.topic).inc()
        log.error("record sent to the dead letters", topic=message.topic,
                  partition=message.partition, offset=message.offset, reason=reason)
