"""The executor: the only writer of execution state.

Per batch of inbox records, in this order:
  1. decode each record (a malformed one goes to the dead letters) and apply it with the
     pure decider to the execution, loaded from the local store when not in memory;
  2. produce the store's changelog (the header and the task runs the decision changed),
     the execution update, worker tasks, logs, child requests and parent results;
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
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from ostinato.decider import Settings, decide
from ostinato.decider import commands as cmd
from ostinato.decider import events as ev
from ostinato.decider.engine import Decision
from ostinato.execution.model import Execution, State, TaskRun
from ostinato.flow.durations import format_duration
from ostinato.flow.inputs import InputError, type_inputs
from ostinato.flow.model import Flow
from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.flow_table import FlowTable
from ostinato.kafka.messages import Received, consume_ready
from ostinato.kafka.outbox import Outbox
from ostinato.logging import get_logger
from ostinato.management import StandardMetrics
from ostinato.store.executions import ExecutionStore, StoreBatch
from ostinato.wire import records as rec
from ostinato.wire.codec import Codec, MalformedRecord
from services.executor.admission import ended_record, flow_key
from services.executor.retention import Retention, Sweeper
from services.executor.state import ExecutorState, Live, instant, to_ms
from services.executor.variables import worker_variables

log = get_logger(component="executor")


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
    def __init__(self, kafka: KafkaSettings, config: ExecutorConfig, codec: Codec,
                 flows: FlowTable, *, metrics: StandardMetrics | None = None) -> None:
        self.metrics = metrics
        self.kafka = kafka
        self.config = config
        self.codec = codec
        self.flows = flows
        self.store = ExecutionStore(config.data_dir / "executions")
        self.state = ExecutorState(kafka, codec, self.store)
        self._sweeper = None if config.retention is None else Sweeper(config.retention, self.state, codec)
        self._waiting: dict[tuple[int, int], float] = {}
        self._paused: dict[int, int] = {}
        self._producer = Producer(kafka.producer(**{"message.max.bytes": 4 * config.context_limit}))
        self._consumer = Consumer(kafka.consumer(kafka.group(config.group), **{"enable.partition.eof": False}))
        self.ready = threading.Event()

    # ------------------------------------------------------------------ loop

    def run(self, stop: threading.Event) -> None:
        topic = self.kafka.topic("executor")
        self._consumer.subscribe([topic], on_assign=self._on_assign, on_revoke=self._on_revoke,
                                 on_lost=self._on_revoke)
        log.info("executor started", topic=topic, group=self.kafka.group(self.config.group))
        try:
            while not stop.is_set():
                messages = consume_ready(self._consumer, self.config.batch_size, 0.02)
                started = time.perf_counter()
                outbox = Outbox(self._producer, self.kafka, track="executor-changelog")
                batch = StoreBatch()
                done: dict[int, int] = {}
                blocked: set[int] = set()
                for message in messages:
                    error = message.error()
                    if error is not None:
                        if error.code() != KafkaError._PARTITION_EOF:
                            log.warning("consume error", error=str(error))
                        continue
                    received = Received.of(message)
                    partition = received.partition
                    if partition in blocked:
                        continue
                    if self._handle(received, outbox, batch):
                        done[partition] = received.offset
                    else:
                        blocked.add(partition)
                self._fire_due_timers(outbox)
                if self._sweeper is not None:
                    self._sweeper.sweep_if_due(utcnow(), outbox, batch)
                if done or batch or outbox or messages:
                    self._finish_batch(outbox, batch, done)
                    if self.metrics is not None and messages:
                        self.metrics.batch_seconds.observe(time.perf_counter() - started)
                self._resume_waiting()
        finally:
            self._consumer.close()
            self.store.close()

    def _finish_batch(self, outbox: Outbox, batch: StoreBatch, done: dict[int, int]) -> None:
        batch.offsets.update(outbox.flush())
        self.store.write(batch)
        if done:
            topic = self.kafka.topic("executor")
            self._consumer.commit(
                offsets=[TopicPartition(topic, p, o + 1) for p, o in done.items()],
                asynchronous=True)
        self.state.evict_finished()

    # ------------------------------------------------------------------ partitions

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            self.state.assign(tp.partition or 0)
        log.info("partitions assigned", partitions=sorted(self.state.owned))
        self.ready.set()

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        lost = {tp.partition or 0 for tp in partitions}
        self.state.revoke(lost)
        log.info("partitions revoked", partitions=sorted(lost))

    # ------------------------------------------------------------------ one record

    def _handle(self, message: Received, outbox: Outbox, batch: StoreBatch) -> bool:
        """Apply one inbox record; False when it must wait (its flow has not arrived)."""
        partition = message.partition
        try:
            name, record = self.codec.decode(message.value)
            event = rec.record_to_event(name, record)
        except (MalformedRecord, ValueError, KeyError) as error:
            reason = getattr(error, "reason", None) or f"{type(error).__name__}: {error}"
            self._dead_letter(message, reason, outbox)
            return True
        live = self.state.load(partition, event.execution_id)
        execution = None if live is None else live.execution
        flow = self._flow_for(event, execution)
        if flow is None:
            return self._flow_missing(message, event, execution, outbox, batch)
        if (isinstance(event, ev.ExecutionRequested) and execution is None
                and flow.concurrency is not None and event.admission is None):
            self._ask_admission(event, outbox)
            return True
        if isinstance(event, ev.ExecutionRequested) and event.metadata.get("typeInputs"):
            typed = self._typed_request(event, flow)
            if isinstance(typed, str):
                self._fail_request(partition, event, typed, outbox, batch)
                return True
            event = typed
        if isinstance(event, ev.WorkerTaskResult) and live is not None:
            event = self._within_context_limit(event, live, outbox, flow)
        was_finished = execution is not None and execution.finished
        started = time.perf_counter()
        decision = decide(flow, execution, event, self.config.settings)
        self._emit(partition, flow, decision, event, was_finished, outbox, batch)
        if self.metrics is not None:
            self.metrics.events_total.labels(type=name).inc()
            self.metrics.event_seconds.observe(time.perf_counter() - started)
        return True

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
                      outbox: Outbox, batch: StoreBatch) -> bool:
        """Wait (bounded) for a flow revision that has not reached the flow table yet."""
        if execution is None and not isinstance(event, ev.ExecutionRequested):
            log.warning("event for an unknown execution ignored", executionId=event.execution_id,
                        kind=type(event).__name__)
            if isinstance(event, (ev.Restart, ev.Replay, ev.Resume, ev.Kill)):
                self._say_unknown(event, outbox)
            return True
        where = (message.partition, message.offset)
        deadline = self._waiting.setdefault(where, time.monotonic() + self.config.flow_wait_seconds)
        if time.monotonic() < deadline:
            tp = TopicPartition(message.topic, message.partition, message.offset)
            self._consumer.pause([tp])
            self._consumer.seek(tp)
            self._paused[message.partition] = self.flows.version
            return False
        del self._waiting[where]
        if isinstance(event, ev.ExecutionRequested):
            self._fail_request(message.partition, event,
                               f"Flow `{event.namespace}.{event.flow_id}` revision "
                               f"{event.flow_revision} is not known after waiting "
                               f"{self.config.flow_wait_seconds} s", outbox, batch)
        else:
            self._dead_letter(message, f"the flow of execution {event.execution_id} is not known "
                                       f"after {self.config.flow_wait_seconds} s", outbox)
        return True

    def _say_unknown(self, event: ev.Event, outbox: Outbox) -> None:
        """A request made by a person about an execution this executor does not hold: the
        answer goes on the execution's logs, where they will look."""
        retention = self.config.retention
        why = ("it never existed" if retention is None else
               f"it never existed, or it finished more than {format_duration(retention.keep)} "
               "ago and was purged (the executor's --retention)")
        entry = rec.LogEntry(namespace="", flow_id="", execution_id=event.execution_id, level="ERROR",
                             message=f"{type(event).__name__} refused: the executor holds no "
                                     f"execution {event.execution_id}: {why}.",
                             timestamp=event.at)
        outbox.send("logs", event.execution_id, self.codec.encode("LogEntry", rec.log_entry_record(entry)))

    def _resume_waiting(self) -> None:
        """Retry paused partitions when a flow arrived or a wait ran out."""
        if not self._paused:
            return
        now = time.monotonic()
        due = [p for p, version in self._paused.items()
               if version != self.flows.version
               or any(d <= now for (wp, _), d in self._waiting.items() if wp == p)]
        if due:
            topic = self.kafka.topic("executor")
            self._consumer.resume([TopicPartition(topic, p) for p in due])
            for p in due:
                del self._paused[p]

    def _ask_admission(self, event: ev.ExecutionRequested, outbox: Outbox) -> None:
        """A flow with a concurrency limit: its admission owner answers (admission.py)."""
        name, record = rec.event_to_record(event)
        outbox.send("admissions", flow_key(event.tenant_id, event.namespace, event.flow_id),
                    self.codec.encode(name, record))

    def _typed_request(self, event: ev.ExecutionRequested, flow: Flow) -> ev.ExecutionRequested | str:
        """A subflow's inputs are typed here, where the child flow is known. Invalid ones
        give the reason, to end the child FAILED (and so its parent's task run)."""
        metadata = {k: v for k, v in event.metadata.items() if k != "typeInputs"}
        try:
            inputs = type_inputs(flow.inputs, event.inputs)
        except InputError as error:
            return f"Invalid inputs for {flow.uid}: {error}"
        return replace(event, inputs=inputs, metadata=metadata)

    def _fail_request(self, partition: int, event: ev.ExecutionRequested, message: str,
                      outbox: Outbox, batch: StoreBatch) -> None:
        """An execution that cannot start: it exists, FAILED, with the reason logged."""
        at = event.at
        state = State.created(at)
        state.move("FAILED", at)
        execution = Execution(
            id=event.execution_id, namespace=event.namespace, flow_id=event.flow_id,
            flow_revision=event.flow_revision, tenant_id=event.tenant_id, state=state,
            inputs=event.inputs, labels=event.labels, trigger=event.trigger,
            parent_id=event.parent_id, metadata=dict(event.metadata), progress={"phase": "done"})
        log_command = cmd.EmitLog(execution.id, None, None, "ERROR", message, at)
        self._emit(partition, None, Decision(execution, [log_command], []), event, False, outbox, batch)

    def _within_context_limit(self, event: ev.WorkerTaskResult, live: Live, outbox: Outbox,
                              flow: Flow) -> ev.WorkerTaskResult:
        """A result whose outputs would push the execution past the limit fails instead."""
        if not event.outputs:
            return event
        added = len(rec.to_json(event.outputs).encode())
        total = live.size + added
        if total <= self.config.context_limit:
            return event
        message = (f"The outputs of this task run are {added} bytes: with them the execution "
                   f"would be {total} bytes, over the context limit of "
                   f"{self.config.context_limit} bytes. Store large data in internal storage "
                   f"(for example with outputFiles) and pass its kestra:// URI instead.")
        run = live.execution.find(event.task_run_id)
        entry = rec.LogEntry(namespace=live.execution.namespace, flow_id=live.execution.flow_id,
                             execution_id=event.execution_id, level="ERROR", message=message,
                             timestamp=event.at, task_run_id=event.task_run_id,
                             task_id=run.task_id if run else None, attempt=event.attempt,
                             tenant_id=live.execution.tenant_id)
        outbox.send("logs", event.execution_id, self.codec.encode("LogEntry", rec.log_entry_record(entry)))
        return replace(event, state="FAILED", outputs=None,
                       logs=[*event.logs, {"level": "ERROR", "message": message}])

    # ------------------------------------------------------------------ emitting

    def _emit(self, partition: int, flow: Flow | None, decision: Decision, event: ev.Event,
              was_finished: bool, outbox: Outbox, batch: StoreBatch) -> None:
        execution = decision.execution
        if execution is None:
            return
        known = self.state.live.get(execution.id)
        header_record = rec.execution_header_record(execution)
        header = self.codec.encode("ExecutionHeader", header_record)
        if known is not None and header == known.header and not decision.changed and not decision.commands:
            return  # an event already applied: nothing changed
        live = self.state.track(partition, execution, header)
        live.header = header
        live.sizes["header"] = len(header)
        outbox.send("executor-changelog", rec.changelog_key(execution.id), header, partition=partition)
        batch.put(self.store.header_key(partition, execution.id), header)
        if execution.finished and execution.state.end_date is not None:
            finished = to_ms(instant(execution.state.end_date))
            batch.put(self.store.ended_key(partition, finished, execution.id), b"")
        # task runs without a ForEach's values, which go once in a record of their own
        run_records = rec.task_run_records(execution, decision.changed, internal=False)
        for record in run_records:
            value = self.codec.encode("TaskRun", record)
            live.sizes[record["id"]] = len(value)
            outbox.send("executor-changelog", rec.changelog_key(execution.id, record["id"]),
                        value, partition=partition)
            batch.put(self.store.run_key(partition, execution.id, record["id"]), value)
            self._emit_values(partition, execution, execution.task_run_list[record["index"]],
                              live, outbox, batch)
        self.state.sync_timers(partition, live, batch)
        for command in decision.commands:
            self._carry_out(command, execution, flow, event, outbox)
        if execution.finished:
            full = self.codec.encode("Execution", rec.execution_record(execution, internal=False))
            outbox.send("executions", execution.id, full)
            if not was_finished:
                outbox.send("execution-results", execution.id, full)
                self._release_slot(execution, flow, outbox)
                if self.metrics is not None:
                    self.metrics.executions_finished_total.labels(state=execution.state.current).inc()
                self._notify_parent(execution, event, outbox)
        else:
            # the update is the header and the changed runs, records already built above
            update = {**header_record, "taskRuns": run_records}
            outbox.send("executions", execution.id, self.codec.encode("ExecutionUpdate", update))

    def _emit_values(self, partition: int, execution: Execution, run: TaskRun, live: Live,
                     outbox: Outbox, batch: StoreBatch) -> None:
        """A run's INTERNAL_PROGRESS (a ForEach's values) as a `TaskRunValues` changelog
        record, when the run has some that were not written yet: once per rendering."""
        values = run.progress.get("values")
        if values is None or live.values_written.get(run.id) is values:
            return
        record = rec.task_run_values_record(execution.id, run)
        assert record is not None
        value = self.codec.encode("TaskRunValues", record)
        key = rec.changelog_key(execution.id, run.id, values=True)
        live.sizes[key] = len(value)
        outbox.send("executor-changelog", key, value, partition=partition)
        batch.put(self.store.values_key(partition, execution.id, run.id), value)
        live.values_written[run.id] = values

    def _carry_out(self, command: cmd.Command, execution: Execution, flow: Flow | None,
                   event: ev.Event, outbox: Outbox) -> None:
        if isinstance(command, cmd.RunTask):
            record = rec.worker_task_record(
                replace(command, variables=worker_variables(command.task, command.variables)),
                namespace=execution.namespace, flow_id=execution.flow_id, at=event.at,
                tenant_id=execution.tenant_id, event_id=str(uuid.uuid4()))
            outbox.send("worker-tasks", execution.id, self.codec.encode("WorkerTask", record))
        elif isinstance(command, cmd.EmitLog):
            entry = rec.log_entry_of(command, namespace=execution.namespace,
                                     flow_id=execution.flow_id, tenant_id=execution.tenant_id)
            outbox.send("logs", execution.id, self.codec.encode("LogEntry", rec.log_entry_record(entry)))
        elif isinstance(command, cmd.StartSubflow):
            request = ev.ExecutionRequested(
                id=str(uuid.uuid4()), at=event.at, execution_id=command.execution_id,
                namespace=command.namespace, flow_id=command.flow_id,
                flow_revision=self._revision_of(command, execution), tenant_id=execution.tenant_id,
                inputs=command.inputs, labels=command.labels, trigger=command.trigger,
                schedule_date=command.schedule_date, parent_id=command.parent_execution_id,
                metadata={"parentTaskRunId": command.task_run_id, "parentAttempt": command.attempt,
                          "subflowWait": command.wait, "typeInputs": True})
            self._send_event(request, outbox)
        elif isinstance(command, cmd.StartExecution):
            self._send_event(ev.ExecutionRequested(
                id=str(uuid.uuid4()), at=event.at, execution_id=command.execution_id,
                namespace=command.namespace, flow_id=command.flow_id,
                flow_revision=command.flow_revision, tenant_id=execution.tenant_id,
                inputs=command.inputs, labels=command.labels, original_id=command.original_id,
                metadata=command.metadata, schedule_date=command.schedule_date), outbox)
        elif isinstance(command, cmd.SeedExecution):
            self._send_event(ev.ExecutionSeeded(
                str(uuid.uuid4()), event.at, command.execution_id, source=command.source,
                from_task_run_id=command.from_task_run_id), outbox)
        elif isinstance(command, cmd.KillExecution):
            self._send_event(ev.Kill(str(uuid.uuid4()), event.at, command.execution_id), outbox)
        elif isinstance(command, cmd.KillTask):
            outbox.send("worker-control", command.execution_id, self.codec.encode("KillTask", {
                "at": event.at, "executionId": command.execution_id, "taskRunId": command.task_run_id}))
        # SetTimer / CancelTimer: the timers live in the execution, indexed by _sync_timers.

    def _revision_of(self, command: cmd.StartSubflow, parent: Execution) -> int:
        if command.revision is not None:
            return command.revision
        latest = self.flows.latest_revision(command.namespace, command.flow_id, parent.tenant_id)
        return latest.revision if latest is not None else 1

    def _release_slot(self, execution: Execution, flow: Flow | None, outbox: Outbox) -> None:
        """Tell the admission owner that an admitted (or queued) execution has ended."""
        if flow is None or flow.concurrency is None:
            return
        if not any(h.state in ("RUNNING", "QUEUED") for h in execution.state.histories):
            return
        record = ended_record(execution.id, execution.tenant_id, execution.namespace,
                              execution.flow_id, execution.state.current)
        outbox.send("admissions", flow_key(execution.tenant_id, execution.namespace, execution.flow_id),
                    self.codec.encode("ExecutionEnded", record))

    def _notify_parent(self, execution: Execution, event: ev.Event, outbox: Outbox) -> None:
        metadata = execution.metadata
        if not execution.parent_id or "parentTaskRunId" not in metadata:
            return
        if not metadata.get("subflowWait", True):
            return
        self._send_event(ev.SubflowResult(
            id=str(uuid.uuid4()), at=event.at, execution_id=execution.parent_id,
            task_run_id=metadata["parentTaskRunId"], attempt=int(metadata.get("parentAttempt", 1)),
            child_execution_id=execution.id, state=execution.state.current,
            outputs=execution.outputs, task_outputs=execution.task_outputs), outbox)

    def _send_event(self, event: ev.Event, outbox: Outbox) -> None:
        name, record = rec.event_to_record(event)
        outbox.send("executor", event.execution_id, self.codec.encode(name, record))

    def _dead_letter(self, message: Received, reason: str, outbox: Outbox) -> None:
        outbox.send("dead-letters", message.key, message.dead_letter(self.codec, reason))
        if self.metrics is not None:
            self.metrics.dead_letters_total.labels(topic=message.topic).inc()
        log.error("record sent to the dead letters", topic=message.topic,
                  partition=message.partition, offset=message.offset, reason=reason)

    # ------------------------------------------------------------------ timers

    def _fire_due_timers(self, outbox: Outbox) -> None:
        """A due timer goes through the inbox like any event (recorded, replayable)."""
        for execution_id, timer_id in self.state.due_timers(utcnow()):
            self._send_event(ev.TimerFired(str(uuid.uuid4()), utcnow(), execution_id, timer_id), outbox)
