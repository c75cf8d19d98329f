"""The executor: the only writer of execution state.

Per batch of inbox records, in this order:
  1. decode each record (a malformed or mis-keyed one goes to the dead letters) and apply
     it with the pure decider to the execution, loaded from the local store when not in
     memory; an exception while doing so fails that one execution (inbox.py);
  2. produce the store's changelog (the header and the task runs the decision changed),
     the execution update, worker tasks, logs, child requests and parent results
     (emitter.py, through `ostinato.interpret`);
  3. flush the producer (every record confirmed, changelog offsets known);
  4. write the store: changed records, timer index and changelog offsets, one batch;
  5. commit the inbox offsets.
A crash anywhere replays the batch; the decider ignores what it already applied
(DESIGN.md, invariant 2), and a restart first restores the store from the changelog.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from ostinato.decider import Settings
from ostinato.decider import commands as cmd
from ostinato.decider import events as ev
from ostinato.execution.model import Execution
from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.flow_table import FlowTable
from ostinato.kafka import membership
from ostinato.kafka.follower import partitions_of
from ostinato.kafka.idle import IdleThrottle
from ostinato.kafka.rescue import StuckReader
from ostinato.kafka.messages import Received
from ostinato.kafka.checkpoint import Checkpoint, ProduceFailed
from ostinato.logging import get_logger
from ostinato.metrics.lag import GroupConsumer
from ostinato.management import StandardMetrics
from ostinato.store.executions import ExecutionStore, StoreBatch
from ostinato.wire import records as rec
from ostinato.wire.codec import Codec
from ostinato.services.executor.emitter import Emitter, Sink
from ostinato.services.executor.inbox import InboxHandler
from ostinato.services.executor.limits import max_record_bytes
from ostinato.services.executor.retention import Retention, Sweeper
from ostinato.services.executor.state import ExecutorState
from ostinato.services.executor.waits import FlowWaits

log = get_logger(component="executor")


#: delivery errors that refuse a record for what it is (not a broker out of reach)
REFUSED_RECORD = ("MSG_SIZE_TOO_LARGE", "RECORD_LIST_TOO_LARGE", "INVALID_RECORD",
                  "CORRUPT_MESSAGE", "INVALID_MSG", "POLICY_VIOLATION")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class ExecutorConfig:
    data_dir: Path
    context_limit: int = 1 << 20
    flow_wait_seconds: float = 30.0
    #: consumer group name, under the topic prefix
    group: str = "executor"
    batch_size: int = 500
    settings: Settings = field(default_factory=Settings)
    #: finished executions leave the store and changelog after this (None: kept forever)
    retention: Retention | None = None


class ExecutorService:
    """The inbox loop. Its Kafka clients may be given (made from `kafka` otherwise)."""

    def __init__(self, kafka: KafkaSettings, config: ExecutorConfig, codec: Codec,
                 flows: FlowTable, *, metrics: StandardMetrics | None = None,
                 producer: Producer | None = None, consumer: Consumer | None = None) -> None:
        self.metrics = metrics
        self.kafka = kafka
        self.config = config
        self.codec = codec
        self.flows = flows
        self.store = ExecutionStore(config.data_dir / "executions")
        self.state = ExecutorState(kafka, codec, self.store)
        self._sweeper = None if config.retention is None else Sweeper(config.retention, self.state, codec)
        self._producer = producer or Producer(kafka.producer(
            **{"message.max.bytes": max_record_bytes(config.context_limit)}))
        self._consumer = consumer or GroupConsumer(kafka.consumer(
            kafka.group(config.group), "hot", static=True, **{"enable.partition.eof": False}))
        self.emitter = Emitter(codec, self.state, self.store, context_limit=config.context_limit,
                               revision_of=self._revision_of, metrics=metrics,
                               executions_partitions=lambda: len(partitions_of(kafka, "executions")))
        self.waits = FlowWaits(self._consumer, flows, config.flow_wait_seconds)
        self._idle = IdleThrottle(self._consumer, held=self.waits.held, rescue=StuckReader(
            self._consumer, lambda: Consumer(kafka.consumer(None, "follow"))))
        self.inbox = InboxHandler(codec, flows, self.state, self.emitter, self.waits,
                                  context_limit=config.context_limit, settings=config.settings,
                                  retention=config.retention, metrics=metrics)
        #: partition -> the last offset of a batch the broker refused, read again one by one
        self._one_by_one: dict[int, int] = {}
        self.ready = threading.Event()

    # ------------------------------------------------------------------ loop

    def run(self, stop: threading.Event) -> None:
        topic = self.kafka.topic("executor")
        membership.join(self._consumer, self.kafka, "executor", on_assign=self._on_assign,
                        on_revoke=self._on_revoke)
        log.info("executor started", topic=topic, group=self.kafka.group(self.config.group))
        try:
            while not stop.is_set():
                self._run_batch(topic)
        finally:
            self._consumer.close()
            self.store.close()

    def _run_batch(self, topic: str) -> None:
        # after a batch the broker refused, its records are read again one at a time
        size = 1 if self._one_by_one else self.config.batch_size
        messages = self._idle.consume(size, 0.02)
        started = time.perf_counter()
        checkpoint = Checkpoint(self._producer, self.kafka, changelog="executor-changelog",
                                consumer=self._consumer, input_topic="executor",
                                asynchronous_commit=True)
        outbox = checkpoint.outbox
        batch = StoreBatch()
        done: dict[int, int] = {}
        first: dict[int, int] = {}
        blocked: set[int] = set()
        for message in messages:
            error = message.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    log.warning("consume error", error=str(error))
                continue
            received = Received.of(message)
            if received.partition in blocked:
                continue
            first.setdefault(received.partition, received.offset)
            if self.inbox.handle(received, outbox, batch):
                done[received.partition] = received.offset
            else:
                blocked.add(received.partition)
        self._fire_due_timers(outbox)
        if self._sweeper is not None:
            self._sweeper.sweep_if_due(utcnow(), outbox, batch)
        if done or batch or outbox or messages:
            try:
                self._finish_batch(checkpoint, batch, done)
            except ProduceFailed as error:
                self._run_again(topic, first, done, str(error))
                return
            self._passed(done)
            if self.metrics is not None and messages:
                self.metrics.batch_seconds.observe(time.perf_counter() - started)
        self.waits.resume_due(topic)

    def _run_again(self, topic: str, first: dict[int, int], done: dict[int, int], reason: str) -> None:
        """A record of the batch was not delivered: nothing of it was stored or committed,
        and its partitions are restored and read again. When the broker refused a record
        for what it is (its size ...), they are read one record at a time, so that the one
        refused alone is found and its execution failed (InboxHandler._undeliverable); a
        broker that did not answer is simply tried again."""
        refused = any(code in reason for code in REFUSED_RECORD)
        log.error("a record of the batch was not delivered: the batch runs again", reason=reason,
                  partitions=sorted(first), one_at_a_time=refused)
        if refused and len(done) == 1:
            (partition, offset), = done.items()
            if first.get(partition) == offset:  # one event alone: it is the culprit
                count, _ = self.inbox.undeliverable.get((partition, offset), (0, ""))
                self.inbox.undeliverable[(partition, offset)] = (count + 1, reason)
        for partition, offset in first.items():
            if refused:
                self._one_by_one[partition] = max(self._one_by_one.get(partition, -1),
                                                  done.get(partition, offset))
            self.state.revoke({partition})
            self.state.assign([partition])
            self._consumer.seek(TopicPartition(topic, partition, offset))
        # the idle throttle must not resume these at a position past the seek
        self._idle.forget([TopicPartition(topic, p) for p in first])

    def _passed(self, done: dict[int, int]) -> None:
        """A batch was written: forget what was read one by one up to it."""
        for partition, offset in done.items():
            self.inbox.undeliverable.pop((partition, offset), None)
            if self._one_by_one.get(partition, offset) <= offset:
                self._one_by_one.pop(partition, None)

    def _finish_batch(self, checkpoint: Checkpoint, batch: StoreBatch, done: dict[int, int]) -> None:
        """Steps 2 to 5 of the module doc, as the checkpoint's (ostinato/kafka/checkpoint.py)."""
        for partition, offset in done.items():
            checkpoint.consumed(partition, offset)
        checkpoint.commit(lambda offsets: self._write_store(batch, offsets))
        self.state.evict_finished()

    def _write_store(self, batch: StoreBatch, changelog_offsets: dict[int, int]) -> None:
        batch.offsets.update(changelog_offsets)
        self.store.write(batch)

    # ------------------------------------------------------------------ partitions

    def _on_assign(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        """Restore the partitions added (the cooperative assignor gives only those, and may
        give none: a rebalance that left this member's partitions where they were)."""
        if not partitions:
            return
        self.state.assign(tp.partition or 0 for tp in partitions)
        log.info("partitions assigned", partitions=sorted(self.state.owned),
                 added=sorted(tp.partition for tp in partitions))
        self.ready.set()

    def _on_revoke(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        if not partitions:
            return
        lost = {tp.partition or 0 for tp in partitions}
        self._idle.forget(partitions)
        self.state.revoke(lost)
        log.info("partitions revoked", partitions=sorted(lost))

    # ------------------------------------------------------------------ helpers

    def _revision_of(self, command: cmd.StartSubflow, parent: Execution) -> int:
        """The revision a subflow child runs: the one named, else the latest known."""
        if command.revision is not None:
            return command.revision
        latest = self.flows.latest_revision(command.namespace, command.flow_id, parent.tenant_id)
        return latest.revision if latest is not None else 1

    def _fire_due_timers(self, sink: Sink) -> None:
        """A due timer goes through the inbox like any event (recorded, replayable)."""
        for execution_id, timer_id in self.state.due_timers(utcnow()):
            timer = ev.TimerFired(str(uuid.uuid4()), utcnow(), execution_id, timer_id)
            name, record = rec.event_to_record(timer)
            sink.send("executor", execution_id, self.codec.encode(name, record))
