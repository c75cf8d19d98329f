"""Flow concurrency limits across partitions: one owner counts the running executions.

Executions of one flow land on many `executor` partitions, so no executor can count them.
An executor forwards a request for a flow with `concurrency` to `admissions` (one
partition, keyed by flow); the executor that owns that partition answers it — RUNNING,
QUEUED, CANCELLED or FAILED — by sending the request back with the answer, and, when an
execution of the flow ends (`ExecutionEnded`), admits the oldest queued one (`Admit`).

Its state per flow (running and queued ids) is written to the compacted `admission-state`
topic before the answers are committed, and read back when the partition is assigned. A
request or end seen again changes nothing: ids already counted are answered the same way.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from ostinato.decider import events as ev
from ostinato.decider.concurrency import admission
from ostinato.execution.states import StateType
from ostinato.flow.model import Flow
from ostinato.kafka import membership
from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.dead_letters import DeadLetters
from ostinato.kafka.flow_table import FlowTable
from ostinato.kafka.loop import consume_and_produce
from ostinato.kafka.messages import Received
from ostinato.kafka.outbox import Outbox
from ostinato.kafka.producer import ConfirmingProducer
from ostinato.kafka.restore import read_partition_to_end
from ostinato.logging import get_logger
from ostinato.metrics.lag import GroupConsumer
from ostinato.management import start_service_thread
from ostinato.wire import records as rec
from ostinato.wire.codec import Codec

log = get_logger(component="admission")

FlowKey = str


def flow_key(tenant_id: str | None, namespace: str, flow_id: str) -> FlowKey:
    return f"{tenant_id or ''}/{namespace}/{flow_id}"


@dataclass
class Slots:
    """Executions of one flow that hold a slot, and those waiting for one."""

    tenant_id: str | None
    namespace: str
    flow_id: str
    running: list[str] = field(default_factory=list)
    queued: list[str] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        return {"tenantId": self.tenant_id, "namespace": self.namespace, "flowId": self.flow_id,
                "running": self.running, "queued": self.queued}


def ended_record(execution_id: str, tenant_id: str | None, namespace: str, flow_id: str,
                 state: str) -> dict[str, Any]:
    return {"eventId": str(uuid.uuid4()), "at": datetime.now(timezone.utc),
            "executionId": execution_id, "tenantId": tenant_id, "namespace": namespace,
            "flowId": flow_id, "state": state}


class AdmissionOwner:
    """Consumes `admissions` in its own group (one member owns it) on its own thread."""

    def __init__(self, kafka: KafkaSettings, codec: Codec, flows: FlowTable, *,
                 group: str = "admission", flow_wait_seconds: float = 30.0) -> None:
        self.kafka = kafka
        self.codec = codec
        self.flows = flows
        self.flow_wait_seconds = flow_wait_seconds
        self._slots: dict[FlowKey, Slots] = {}
        self._changed: set[FlowKey] = set()
        self._producer = ConfirmingProducer(kafka)
        self._dead_letters = DeadLetters(self._producer, codec, reader="admission")
        self._consumer = GroupConsumer(kafka.consumer(kafka.group(group), **{"enable.partition.eof": False}))
        self._thread: threading.Thread | None = None

    def start(self, stop: threading.Event) -> None:
        self._thread = start_service_thread("admission", self.run, stop)

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join(timeout=10)

    def run(self, stop: threading.Event) -> None:
        membership.join(self._consumer, self.kafka, "admissions", on_assign=self._on_assign,
                        on_revoke=self._on_revoke)
        consume_and_produce(self._consumer, self._producer, self.kafka, "admissions", stop,
                            self._handle, log=log, codec=self.codec, before_flush=self._write_state,
                            state_topic="admission-state")

    def _write_state(self, outbox: Outbox) -> None:
        """The state of every flow the batch changed, before the answers are committed."""
        for key in self._changed:
            outbox.send("admission-state", key,
                        self.codec.encode("AdmissionState", self._slots[key].record()))
        self._changed = set()

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        if not partitions:  # a cooperative rebalance that left `admissions` where it was
            return
        self._slots = {}

        def restore(key: str, value: bytes | None, offset: int) -> None:
            if value is None:
                self._slots.pop(key, None)
                return
            _, record = self.codec.decode(value, expected="AdmissionState")
            self._slots[key] = Slots(record["tenantId"], record["namespace"], record["flowId"],
                                     list(record["running"]), list(record["queued"]))

        read_partition_to_end(self.kafka, "admission-state", 0, 0, restore,
                              dead_letters=self._dead_letters)
        log.info("admission owner", flows=len(self._slots))

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        if partitions:  # `admissions` has one partition: this member no longer owns it
            self._slots = {}

    # ------------------------------------------------------------------ records

    def _handle(self, message: Received, outbox: Outbox) -> None:
        changed = self._changed
        name, record = self.codec.decode(message.value)  # malformed: the loop dead-letters it
        if name == "ExecutionRequested":
            self._request(rec.record_to_event(name, record), outbox, changed)  # type: ignore[arg-type]
        elif name == "ExecutionEnded":
            self._ended(record, outbox, changed)

    def _slots_of(self, tenant_id: str | None, namespace: str, flow_id: str) -> Slots:
        key = flow_key(tenant_id, namespace, flow_id)
        if key not in self._slots:
            self._slots[key] = Slots(tenant_id, namespace, flow_id)
        return self._slots[key]

    def _request(self, request: ev.ExecutionRequested, outbox: Outbox, changed: set[FlowKey]) -> None:
        slots = self._slots_of(request.tenant_id, request.namespace, request.flow_id)
        execution_id = request.execution_id
        answer: StateType
        if execution_id in slots.running:
            answer = StateType.RUNNING
        elif execution_id in slots.queued:
            answer = StateType.QUEUED
        else:
            flow = self._flow(request)
            answer = admission(flow.concurrency if flow else None, len(slots.running))
            if answer is StateType.RUNNING:
                slots.running.append(execution_id)
            elif answer is StateType.QUEUED:
                slots.queued.append(execution_id)
            changed.add(flow_key(request.tenant_id, request.namespace, request.flow_id))
        # stamped with the answer's time: the execution is created when admitted, so a request
        # that waited here under load does not claim it was RUNNING since it was sent
        name, record = rec.event_to_record(ev.ExecutionRequested(**{
            **request.__dict__, "admission": answer, "at": datetime.now(timezone.utc)}))
        outbox.send("executor", execution_id, self.codec.encode(name, record))

    def _ended(self, record: dict[str, Any], outbox: Outbox, changed: set[FlowKey]) -> None:
        slots = self._slots_of(record["tenantId"], record["namespace"], record["flowId"])
        execution_id = record["executionId"]
        if execution_id in slots.queued:
            slots.queued.remove(execution_id)
        if execution_id not in slots.running:
            changed.add(flow_key(slots.tenant_id, slots.namespace, slots.flow_id))
            return
        slots.running.remove(execution_id)
        flow = self.flows.get(slots.namespace, slots.flow_id, None, slots.tenant_id)
        while slots.queued and admission(flow.concurrency if flow else None, len(slots.running)) is StateType.RUNNING:
            admitted = slots.queued.pop(0)
            slots.running.append(admitted)
            name, admit = rec.event_to_record(
                ev.Admit(str(uuid.uuid4()), datetime.now(timezone.utc), admitted))
            outbox.send("executor", admitted, self.codec.encode(name, admit))
        changed.add(flow_key(slots.tenant_id, slots.namespace, slots.flow_id))

    def _flow(self, request: ev.ExecutionRequested) -> Flow | None:
        """The requested revision (the executor that forwarded it had it; wait a little if
        this process's table has not caught up)."""
        deadline = time.monotonic() + self.flow_wait_seconds
        while True:
            flow = self.flows.get(request.namespace, request.flow_id, request.flow_revision,
                                  request.tenant_id)
            if flow is not None or time.monotonic() > deadline:
                return flow
            time.sleep(0.05)
