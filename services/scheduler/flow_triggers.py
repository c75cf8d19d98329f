"""Flow triggers in the scheduler: every state an execution enters, seen on `executions`,
is offered to the Flow triggers of every deployed flow (ostinato.triggers.flow).

The consumer group shares the `executions` partitions between scheduler replicas, so each
transition is evaluated by one replica; the requested execution's id is derived from the
transition, so evaluating it again (after a crash) starts nothing new.
A transition that meets some of a trigger's preconditions becomes a `PreconditionHit` on
`flow-trigger-hits` (one partition): its single owner (`PreconditionOwner`, one member of
its own group) keeps every window, writes them to `flow-trigger-state` before committing,
reads them back when it gains the partition, and starts the listener when a window is
complete — so windows stay right with any number of scheduler replicas.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any


from ostinato.execution.model import Execution
from ostinato.flow.inputs import type_inputs
from ostinato.flow.model import Flow
from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.dead_letters import DeadLetters
from ostinato.kafka.flow_table import FlowTable
from ostinato.kafka.loop import consume_and_produce
from ostinato.kafka.messages import Received
from ostinato.kafka.outbox import Outbox
from ostinato.kafka.producer import ConfirmingProducer
from ostinato.kafka.restore import read_partition_to_end
from ostinato.logging import get_logger
from ostinato.tracing import execution_root, traceparent_of
from ostinato.tracing.attributes import request_attributes
from ostinato.metrics.lag import GroupConsumer
from ostinato.metrics.service import ServiceMetrics
from ostinato.management import start_service_thread
from ostinato.triggers.flow import PreconditionHit, complete_hit, flow_trigger_requests, listeners
from ostinato.wire import records as rec
from ostinato.wire.codec import Codec

log = get_logger(component="flow-triggers")


class Windows:
    """Precondition windows in memory, written to `flow-trigger-state` before the batch
    that changed them is committed, and read back at start."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, Any]] = {}
        self.dirty: set[str] = set()

    def get(self, key: str) -> dict[str, Any] | None:
        return self.data.get(key)

    def put(self, key: str, value: dict[str, Any] | None) -> None:
        self.dirty.add(key)
        if value is None:
            self.data.pop(key, None)
        else:
            self.data[key] = value


class FlowTriggerWatcher:
    def __init__(self, kafka: KafkaSettings, codec: Codec, flows: FlowTable, *,
                 group: str = "flow-triggers", metrics: ServiceMetrics | None = None) -> None:
        self.kafka = kafka
        self.metrics = metrics
        self.codec = codec
        self.flows = flows
        self._views: dict[str, Execution] = {}
        self._seen: dict[str, int] = {}
        self._producer = ConfirmingProducer(kafka)
        self._consumer = GroupConsumer(kafka.consumer(kafka.group(group), **{"enable.partition.eof": False}))
        self._listening: tuple[int, list[tuple[Flow, Any]]] = (-1, [])

    def start(self, stop: threading.Event) -> threading.Thread:
        return start_service_thread("flow-triggers", self.run, stop)

    def run(self, stop: threading.Event) -> None:
        self._consumer.subscribe([self.kafka.topic("executions")])
        consume_and_produce(self._consumer, self._producer, self.kafka, "executions", stop,
                            self._handle, log=log, codec=self.codec, batch=500)

    def _listeners(self) -> list[tuple[Flow, Any]]:
        version, cached = self._listening
        if version != self.flows.version:
            self._listening = (self.flows.version, listeners(self.flows.latest_flows()))
        return self._listening[1]

    def _handle(self, message: Received, outbox: Outbox) -> None:
        if message.value is None:  # a deleted execution (DELETE /executions/{id} on the API)
            self._views.pop(message.key or "", None)
            self._seen.pop(message.key or "", None)
            return
        _, record = self.codec.decode(message.value)  # malformed: the loop dead-letters it
        try:
            view = rec.apply_execution_update(self._views.get(record["id"]), record)
        except ValueError as error:  # an update of an execution not seen from its start
            log.warning("execution record not followed", offset=message.offset, reason=str(error))
            return
        execution_id = view.id
        self._views[execution_id] = view
        if rec.is_partial(record):  # one part of a large execution: its header comes last
            return
        seen = self._seen.get(execution_id, 0)
        count = len(view.state.histories)
        listening = self._listeners()
        for index in range(seen, count):
            hits: list[PreconditionHit] = []
            requests, rejected = flow_trigger_requests(
                listening, view, index, datetime.now(timezone.utc), None,
                lambda flow, inputs: type_inputs(flow.inputs, inputs), hits=hits)
            for hit in hits:
                outbox.send("flow-trigger-hits", hit.key, self.codec.encode("PreconditionHit", {
                    "key": hit.key, "tenantId": hit.tenant_id, "namespace": hit.namespace,
                    "flowId": hit.flow_id, "triggerId": hit.trigger_id, "met": hit.met,
                    "at": hit.at, "seed": hit.seed, "inputsJson": rec.to_json(hit.inputs),
                    "variablesJson": rec.to_json(hit.variables)}))
            for request in requests:
                name, value = rec.event_to_record(request)
                # the root of its trace, linked to the upstream execution's span
                with execution_root(request.execution_id, "scheduler Flow",
                                    attributes=request_attributes(request),
                                    linked=traceparent_of(message.headers)):
                    outbox.send("executor", request.execution_id, self.codec.encode(name, value))
                log.info("flow trigger fired", executionId=request.execution_id,
                         flow=f"{request.namespace}.{request.flow_id}", upstream=execution_id)
                self._observe_lateness(view.state.histories[index].date)
            for refusal in rejected:
                log.error("flow trigger could not start its flow", flow=refusal.flow,
                          trigger=refusal.trigger, reason=refusal.reason, upstream=execution_id)
        self._seen[execution_id] = count
        if view.finished:
            self._views.pop(execution_id, None)
            self._seen.pop(execution_id, None)


    def _observe_lateness(self, upstream_date: str) -> None:
        """Seconds from the upstream state change to this request (`trigger="Flow"`)."""
        if self.metrics is not None:
            moment = datetime.fromisoformat(upstream_date.replace("Z", "+00:00"))
            self.metrics.scheduler_lateness_seconds.labels(trigger="Flow").observe(
                max((datetime.now(timezone.utc) - moment).total_seconds(), 0.0))


class PreconditionOwner:
    """Owns every precondition window (`flow-trigger-hits` has one partition)."""

    def __init__(self, kafka: KafkaSettings, codec: Codec, flows: FlowTable, *,
                 group: str = "flow-trigger-owner") -> None:
        self.kafka = kafka
        self.codec = codec
        self.flows = flows
        self.windows = Windows()
        self._producer = ConfirmingProducer(kafka)
        self._dead_letters = DeadLetters(self._producer, codec, reader="preconditions")
        self._consumer = GroupConsumer(kafka.consumer(kafka.group(group), **{"enable.partition.eof": False}))

    def start(self, stop: threading.Event) -> threading.Thread:
        return start_service_thread("preconditions", self.run, stop)

    def run(self, stop: threading.Event) -> None:
        self._consumer.subscribe([self.kafka.topic("flow-trigger-hits")],
                                 # cooperative rebalances may call back with no partition
                                 on_assign=lambda _, parts: self._restore() if parts else None,
                                 on_revoke=lambda _, parts: self._forget() if parts else None)
        consume_and_produce(self._consumer, self._producer, self.kafka, "flow-trigger-hits", stop,
                            self._handle, log=log, codec=self.codec, before_flush=self._write_windows,
                            state_topic="flow-trigger-state")

    def _restore(self) -> None:
        self.windows = Windows()

        def read(key: str, value: bytes | None, offset: int) -> None:
            if value is None:
                return
            _, record = self.codec.decode(value, expected="PreconditionWindow")
            if record["windowJson"] is None:
                self.windows.data.pop(record["key"], None)
            else:
                self.windows.data[record["key"]] = rec.from_json(record["windowJson"])

        read_partition_to_end(self.kafka, "flow-trigger-state", 0, 0, read,
                              dead_letters=self._dead_letters)
        log.info("precondition windows restored", windows=len(self.windows.data))

    def _forget(self) -> None:
        self.windows = Windows()

    def _handle(self, message: Received, outbox: Outbox) -> None:
        _, record = self.codec.decode(message.value, expected="PreconditionHit")  # see the loop
        hit = PreconditionHit(
            key=record["key"], namespace=record["namespace"], flow_id=record["flowId"],
            tenant_id=record["tenantId"], trigger_id=record["triggerId"], met=list(record["met"]),
            at=record["at"], seed=record["seed"], inputs=rec.from_json(record["inputsJson"]),
            variables=rec.from_json(record["variablesJson"]))
        flow = self.flows.get(hit.namespace, hit.flow_id, None, hit.tenant_id)
        if flow is None:
            log.warning("precondition hit for a flow no longer deployed", key=hit.key)
            return
        try:
            request = complete_hit(hit, flow, self.windows,
                                   lambda f, inputs: type_inputs(f.inputs, inputs))
        except ValueError as error:
            log.error("flow trigger could not start its flow", flow=flow.uid, reason=str(error))
            return
        if request is not None:
            name, value = rec.event_to_record(request)
            outbox.send("executor", request.execution_id, self.codec.encode(name, value))
            log.info("preconditions met", executionId=request.execution_id, flow=flow.uid)

    def _write_windows(self, outbox: Outbox) -> None:
        for key in self.windows.dirty:
            window = self.windows.data.get(key)
            outbox.send("flow-trigger-state", key, self.codec.encode("PreconditionWindow", {
                "key": key, "windowJson": None if window is None else rec.to_json(window)}))
        self.windows.dirty = set()
