"""What the executor writes for one decision: the store and its changelog together, the
execution's update, and the records of the decision's effects (`ostinato.interpret`).

Every record of a decision is encoded and its size checked before any is sent or put in the
store batch: a record that cannot be encoded or is too large raises, and nothing of that
decision has been written (so the caller can fail that one execution instead).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from ostinato import interpret
from ostinato.decider import Decision
from ostinato.decider import commands as cmd
from ostinato.decider import events as ev
from ostinato.execution.model import Execution, TaskRun
from ostinato.flow.model import Flow
from ostinato.kafka.partitioner import key_partition
from ostinato.logging import get_logger
from ostinato.management import StandardMetrics
from ostinato.storage.scope import LINKS_VARIABLE, execution_file_links
from ostinato.store.executions import ExecutionStore, StoreBatch
from ostinato.wire import records as rec
from ostinato.wire.codec import Codec
from ostinato.services.executor.admission import ended_record, flow_key
from ostinato.services.executor.limits import RecordTooLarge, check_record_size
from ostinato.services.executor.state import ExecutorState, instant, to_ms
from ostinato.services.executor.variables import worker_variables

log = get_logger(component="executor")


class Sink(Protocol):
    """Where records go (the batch's `Outbox`)."""

    def send(self, topic: str, key: str | None, value: bytes | None, *,
             partition: int | None = None) -> None: ...


@dataclass
class Staged:
    """The records of one decision, encoded and checked, not yet written."""

    context_limit: int
    records: list[tuple[str, str | None, bytes, int | None]] = field(default_factory=list)
    puts: list[tuple[bytes, bytes]] = field(default_factory=list)
    #: changelog key -> encoded size, for the execution's context size
    sizes: dict[str, int] = field(default_factory=dict)
    values_written: dict[str, Any] = field(default_factory=dict)

    def send(self, topic: str, key: str | None, name: str, value: bytes, what: str, *,
             partition: int | None = None) -> None:
        """Add a record, raising RecordTooLarge when it would not fit."""
        check_record_size(name, what, key, value, self.context_limit)
        self.records.append((topic, key, value, partition))

    def keep(self, partition: int, changelog_key: str, store_key: bytes, name: str, value: bytes,
             what: str, size_key: str) -> None:
        """Put a record in the store and on its changelog, together."""
        self.send("executor-changelog", changelog_key, name, value, what, partition=partition)
        self.puts.append((store_key, value))
        self.sizes[size_key] = len(value)


class Emitter:
    """Turns decisions into records for one executor (its store, state and flow table)."""

    def __init__(self, codec: Codec, state: ExecutorState, store: ExecutionStore, *,
                 context_limit: int, revision_of: interpret.RevisionOf,
                 metrics: StandardMetrics | None = None,
                 new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
                 executions_partitions: Callable[[], int] | None = None) -> None:
        self.codec = codec
        self.state = state
        self.store = store
        self.context_limit = context_limit
        self.revision_of = revision_of
        self.metrics = metrics
        self.new_id = new_id
        #: how many partitions `executions` has (asked once, when a large execution ends)
        self.executions_partitions = executions_partitions
        self._executions_count: int | None = None

    def emit(self, partition: int, flow: Flow | None, decision: Decision, event: ev.Event,
             was_finished: bool, sink: Sink, batch: StoreBatch, *, faulted: bool = False) -> None:
        """Write everything `decision` (the answer to `event`) changed and asks for; raise,
        having written nothing, when one of its records cannot be encoded or is too large.
        `faulted`: the decision fails the execution; a ForEach's values too large to write
        are dropped rather than fail it a second time."""
        execution = decision.execution
        if execution is None:
            return
        known = self.state.live.get(execution.id)
        header_record = rec.execution_header_record(execution)
        header = self.codec.encode("ExecutionHeader", header_record)
        if known is not None and header == known.header and not decision.changed and not decision.commands:
            return  # an event already applied: nothing changed
        staged = Staged(self.context_limit)
        staged.keep(partition, rec.changelog_key(execution.id), self.store.header_key(partition, execution.id),
                    "ExecutionHeader", header, f"execution {execution.id}", "header")
        if execution.finished and execution.state.end_date is not None:
            finished = to_ms(instant(execution.state.end_date))
            staged.puts.append((self.store.ended_key(partition, finished, execution.id), b""))
        # task runs without a ForEach's values, which go once in a record of their own
        run_records = rec.task_run_records(execution, decision.changed, internal=False)
        for record in run_records:
            staged.keep(partition, rec.changelog_key(execution.id, record["id"]),
                        self.store.run_key(partition, execution.id, record["id"]), "TaskRun",
                        self.codec.encode("TaskRun", record), f"task run {record['id']}", record["id"])
            self._stage_values(partition, execution, execution.task_run_list[record["index"]],
                               staged, faulted)
        effects = interpret.effects_of(decision, event, flow, was_finished=was_finished,
                                       new_id=self.new_id, revision_of=self.revision_of)
        for effect in effects:
            self._stage_effect(effect, execution, event, staged)
        self._stage_update(execution, header_record, run_records, was_finished, staged)
        self._write(partition, execution, header, staged, sink, batch, decision.changed)

    def _write(self, partition: int, execution: Execution, header: bytes, staged: Staged,
               sink: Sink, batch: StoreBatch, changed: list[str]) -> None:
        live = self.state.track(partition, execution, header)
        live.header = header
        live.context.note(execution, changed)
        live.sizes.update(staged.sizes)
        live.values_written.update(staged.values_written)
        for topic, key, value, target in staged.records:
            sink.send(topic, key, value, partition=target)
        for store_key, value in staged.puts:
            batch.put(store_key, value)
        self.state.sync_timers(partition, live, batch)

    def _stage_values(self, partition: int, execution: Execution, run: TaskRun, staged: Staged,
                      faulted: bool) -> None:
        """A run's INTERNAL_PROGRESS (a ForEach's values) as a `TaskRunValues` changelog
        record, when the run has some that were not written yet: once per rendering."""
        values = run.progress.values
        live = self.state.live.get(execution.id)
        if values is None or (live is not None and live.values_written.get(run.id) is values):
            return
        record = rec.task_run_values_record(execution.id, run)
        assert record is not None
        value = self.codec.encode("TaskRunValues", record)
        key = rec.changelog_key(execution.id, run.id, values=True)
        try:
            staged.keep(partition, key, self.store.values_key(partition, execution.id, run.id),
                        "TaskRunValues", value, f"the values of task run {run.id}", key)
        except RecordTooLarge:
            if not faulted:
                raise
            log.warning("values too large to write dropped from a failed execution",
                        executionId=execution.id, taskRunId=run.id, size=len(value))
            return
        staged.values_written[run.id] = values

    def _stage_effect(self, effect: interpret.Effect, execution: Execution, event: ev.Event,
                      staged: Staged) -> None:
        codec = self.codec
        if isinstance(effect, interpret.ToWorker):
            command = effect.command
            variables = worker_variables(command.task, command.variables)
            # the executions whose files it may read (ostinato/storage/scope.py)
            variables[LINKS_VARIABLE] = execution_file_links(execution, children="outputs" in variables)
            record = rec.worker_task_record(
                replace(command, variables=variables),
                namespace=execution.namespace, flow_id=execution.flow_id, at=event.at,
                tenant_id=execution.tenant_id, event_id=self.new_id())
            staged.send("worker-tasks", execution.id, "WorkerTask", codec.encode("WorkerTask", record),
                        f"task run {command.task_run_id}")
        elif isinstance(effect, interpret.Log):
            staged.send("logs", execution.id, "LogEntry", self.log_entry(effect.command, execution),
                        "a log line")
        elif isinstance(effect, interpret.ToExecutor):
            name, record = rec.event_to_record(effect.event)
            staged.send("executor", effect.event.execution_id, name, codec.encode(name, record),
                        f"execution {effect.event.execution_id}")
        elif isinstance(effect, interpret.StopTask):
            kill = effect.command
            staged.send("worker-control", kill.execution_id, "KillTask", codec.encode("KillTask", {
                "at": event.at, "executionId": kill.execution_id, "taskRunId": kill.task_run_id,
                "attempt": kill.attempt}),
                f"task run {kill.task_run_id}")
        elif isinstance(effect, interpret.AdmissionEnded):
            ended = effect.execution
            record = ended_record(ended.id, ended.tenant_id, ended.namespace, ended.flow_id,
                                  ended.state.current)
            staged.send("admissions", flow_key(ended.tenant_id, ended.namespace, ended.flow_id),
                        "ExecutionEnded", codec.encode("ExecutionEnded", record), f"execution {ended.id}")
        # ArmTimer: the timers live in the execution, indexed by ExecutorState.sync_timers

    def log_entry(self, command: cmd.EmitLog, execution: Execution) -> bytes:
        entry = rec.log_entry_of(command, namespace=execution.namespace,
                                 flow_id=execution.flow_id, tenant_id=execution.tenant_id)
        return self.codec.encode("LogEntry", rec.log_entry_record(entry))

    def _stage_final(self, execution: Execution, run_records: list[dict[str, Any]],
                     was_finished: bool, staged: Staged) -> None:
        """A finished execution on `executions` (and, when it has just ended, on
        `execution-results`): one `Execution` record, or for a large one a record a part
        (`rec.PART_RUNS` task runs each), so no record carries it whole. Once it has ended,
        a later change re-sends only the parts of the runs it changed, and the last part."""
        count = rec.part_count(len(execution.task_run_list))
        parts: Iterable[int] = range(count)
        if was_finished and count > 1:
            parts = sorted({rec.part_of(r["index"]) for r in run_records} | {count - 1})
        partition = self._executions_partition(execution.id) if count > 1 else None
        what = f"execution {execution.id}"
        for part in parts:
            value = self.codec.encode("Execution", rec.execution_part_record(execution, part))
            staged.send("executions", rec.part_key(execution.id, part, count), "Execution",
                        value, what, partition=partition)
            if not was_finished:
                staged.send("execution-results", execution.id, "Execution", value, what,
                            partition=partition)

    def _executions_partition(self, execution_id: str) -> int | None:
        """The partition of `executions` the execution's own key goes to (the client's
        default partitioner), where its parts must go too: one partition keeps their order."""
        if self.executions_partitions is None:
            return None
        if self._executions_count is None:
            self._executions_count = self.executions_partitions()
        return key_partition(execution_id, self._executions_count)

    def _stage_update(self, execution: Execution, header_record: dict[str, Any],
                      run_records: list[dict[str, Any]], was_finished: bool, staged: Staged) -> None:
        """The execution's new state on `executions` (and `execution-results` when it ends)."""
        what = f"execution {execution.id}"
        if not execution.finished:
            # the update is the header and the changed runs, records already built above
            update = {**header_record, "taskRuns": run_records}
            staged.send("executions", execution.id, "ExecutionUpdate",
                        self.codec.encode("ExecutionUpdate", update), what)
            return
        self._stage_final(execution, run_records, was_finished, staged)
        if not was_finished and self.metrics is not None:
            self.metrics.execution_ended(execution.namespace, execution.flow_id,
                                         execution.state.current, execution.state.start_date,
                                         execution.state.end_date)
