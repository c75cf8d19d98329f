"""Trigger events: a record on `triggers` starts an execution of its flow.

The key is `tenant/namespace/flowId`, the value a `TriggerEvent` (inputs, labels, an
optional deduplication key). The execution id is derived from the deduplication key when
there is one, else from the record's position, so a repeated key — or this consumer
reading a record again after a crash — names the same execution, which the executor
starts only once. An unknown or disabled flow, or invalid inputs, sends the record to the
dead letters with the reason.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime, timezone


from ostinato.decider import events as ev
from ostinato.decider.engine import derived_id
from ostinato.flow.inputs import InputError, type_inputs
from ostinato.flow.model import Flow
from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.dead_letters import count_dead_letter
from ostinato.kafka.flow_table import FlowTable
from ostinato.kafka.loop import consume_and_produce
from ostinato.kafka.messages import Received
from ostinato.kafka.outbox import Outbox
from ostinato.kafka.producer import ConfirmingProducer
from ostinato.logging import get_logger
from ostinato.tracing import execution_root, traceparent_of
from ostinato.tracing.attributes import request_attributes
from ostinato.metrics.lag import GroupConsumer
from ostinato.wire import records as rec
from ostinato.wire.codec import Codec, MalformedRecord

log = get_logger(component="trigger-events")

TRIGGER_TYPE = "io.ostinato.trigger.TriggerEvent"


class Rejected(Exception):
    """The record cannot start an execution; the message says why."""


class TriggerEventConsumer:
    def __init__(self, kafka: KafkaSettings, codec: Codec, flows: FlowTable, *,
                 group: str = "trigger-events", flow_wait_seconds: float = 10.0) -> None:
        self.kafka = kafka
        self.codec = codec
        self.flows = flows
        self.flow_wait_seconds = flow_wait_seconds
        self._producer = ConfirmingProducer(kafka)
        self._consumer = GroupConsumer(kafka.consumer(kafka.group(group), **{"enable.partition.eof": False}))
        self.ready = threading.Event()

    def run(self, stop: threading.Event) -> None:
        self._consumer.subscribe([self.kafka.topic("triggers")],
                                 on_assign=lambda _, parts: self.ready.set() if parts else None)
        consume_and_produce(self._consumer, self._producer, self.kafka, "triggers", stop,
                            self._handle, log=log, codec=self.codec)

    def _handle(self, message: Received, outbox: Outbox) -> None:
        try:
            request = self._request_of(message)
        except Rejected as error:
            outbox.send("dead-letters", message.key, message.dead_letter(self.codec, str(error)))
            count_dead_letter(message.topic)
            log.error("trigger event rejected", key=message.key, offset=message.offset, reason=str(error))
            return
        name, record = rec.event_to_record(request)
        # the root of the execution's trace; the event's own traceparent (its publisher's) linked
        with execution_root(request.execution_id, "scheduler TriggerEvent",
                            attributes=request_attributes(request),
                            linked=traceparent_of(message.headers)):
            outbox.send("executor", request.execution_id, self.codec.encode(name, record))
        log.info("execution requested", executionId=request.execution_id,
                 flow=f"{request.namespace}.{request.flow_id}")

    def _request_of(self, message: Received) -> ev.ExecutionRequested:
        try:
            _, record = self.codec.decode(message.value, expected="TriggerEvent")
        except MalformedRecord as error:
            raise Rejected(error.reason) from None
        event = rec.trigger_event_from_record(record)
        flow = self._flow(event)
        try:
            inputs = type_inputs(flow.inputs, event.inputs)
        except InputError as error:
            raise Rejected(f"invalid inputs for flow {flow.uid}: {error}") from None
        seed = (f"dedup/{event.tenant_id or ''}/{flow.uid}/{event.dedup_key}" if event.dedup_key
                else f"{message.topic}/{message.partition}/{message.offset}")
        execution_id = derived_id(seed)
        variables = {"key": message.key, "dedupKey": event.dedup_key,
                     "topic": message.topic, "partition": message.partition, "offset": message.offset}
        return ev.ExecutionRequested(
            id=str(uuid.uuid4()), at=datetime.now(timezone.utc), execution_id=execution_id,
            namespace=flow.namespace, flow_id=flow.id, flow_revision=flow.revision or 1,
            tenant_id=event.tenant_id, inputs=inputs, labels=event.labels,
            trigger={"id": "trigger-event", "type": TRIGGER_TYPE, "variables": variables})

    def _flow(self, event: rec.TriggerEvent) -> Flow:
        """The latest revision; one not read yet is waited for, bounded (invariant 7)."""
        deadline = time.monotonic() + self.flow_wait_seconds
        while True:
            flow = self.flows.get(event.namespace, event.flow_id, None, event.tenant_id)
            if flow is not None:
                if flow.disabled:
                    raise Rejected(f"flow {flow.uid} is disabled")
                return flow
            if self.flows.caught_up and time.monotonic() > deadline:
                raise Rejected(f"no flow {event.namespace}.{event.flow_id} is deployed")
            time.sleep(0.05)
