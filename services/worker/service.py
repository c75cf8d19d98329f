"""The worker: a consumer group on `worker-tasks` that runs runnable tasks.

Up to `slots` tasks run at once, each in its own thread. For each task it reports RUNNING,
runs the task (enforcing its `timeout`), writes its log lines to `logs` while it runs
(services/worker/live_logs.py), and reports the attempt's final state. A task's offset is committed only once its final result is
confirmed by the broker, so a worker killed mid-task means the task runs again elsewhere;
the executor ignores the late duplicate (DESIGN.md, invariant 2). An attempt this worker
receives twice runs once (`RecentAttempts`); its offsets are committed in order
(`ContiguousOffsets`). Both live in services/worker/commits.py.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from confluent_kafka import Consumer, KafkaError, TopicPartition
from pydantic import ValidationError

from ostinato import tracing
from ostinato.decider import events as ev
from ostinato.execution.states import StateType
from ostinato.flow.durations import parse_duration
from ostinato.kafka import membership
from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.dead_letters import DeadLetters, count_dead_letter
from ostinato.kafka.follower import Follower, approximate_ends
from ostinato.kafka.idle import IdleThrottle
from ostinato.kafka.rescue import StuckReader
from ostinato.kafka.messages import Received
from ostinato.kafka.producer import ConfirmingProducer, Delivery
from ostinato.kv.access import KvClient
from ostinato.kv.store import KvStore
from ostinato.logging import get_logger
from ostinato.tracing.attributes import task_attributes
from ostinato.metrics.lag import GroupConsumer
from ostinato.management import StandardMetrics, start_service_thread
from ostinato.storage import open_storage
from ostinato.storage.scope import LINKS_VARIABLE, ScopedStorage, scope_of
from ostinato.tasks import RunContext, TaskOutcome
from ostinato.tasks.base import LogLine, TaskKilled
from ostinato.tasks.scripts.process import ProcessUser, process_user_named
from ostinato.wire import records as rec
from ostinato.wire.codec import Codec, MalformedRecord
from ostinato.services.worker.commits import ContiguousOffsets, RecentAttempts
from ostinato.services.worker.live_logs import LiveLogs
from ostinato.services.worker.logs_reader import LogsReader
from ostinato.tasks.log_fetch import LOGS_SOURCE
from ostinato.tasks.working_directory import WorkingDirectories, run_worker_task
from ostinato.execution.logs import LogEntry

log = get_logger(component="worker")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _instant(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass(frozen=True)
class WorkerConfig:
    #: the internal storage: a directory, or a URI (`s3://bucket/prefix`; open_storage)
    storage_dir: Path | str
    slots: int = 8
    #: consumer group name, under the topic prefix
    group: str = "worker"
    context_limit: int = 1 << 20
    secrets: dict[str, str] = field(default_factory=dict)
    #: the account script tasks run as when the worker runs as root (OSTINATO_SCRIPT_USER)
    script_user: str | None = None


class WorkerService:
    def __init__(self, kafka: KafkaSettings, config: WorkerConfig, codec: Codec, *,
                 metrics: StandardMetrics | None = None, consumer: Consumer | None = None,
                 producer: ConfirmingProducer | None = None) -> None:
        """`consumer` (of the worker group) and `producer` are made from `kafka` unless
        given."""
        self.metrics = metrics
        self.kafka = kafka
        self.config = config
        self.codec = codec
        self.storage = open_storage(config.storage_dir)
        self.process_user = self._process_user(config.script_user)
        self._producer = producer or ConfirmingProducer(kafka)
        self._dead_letters = DeadLetters(self._producer, codec, reader="worker-kills")
        self._consumer = consumer or GroupConsumer(
            kafka.consumer(kafka.group(config.group), "hot", static=True,
                           **{"enable.partition.eof": False}))
        self._idle = IdleThrottle(self._consumer, rescue=StuckReader(
            self._consumer, lambda: Consumer(kafka.consumer(None, "follow"))))
        self._pool = ThreadPoolExecutor(max_workers=config.slots, thread_name_prefix="task")
        self._running: dict[Future[None], tuple[int, int]] = {}
        self._offsets = ContiguousOffsets()
        self._backlog: deque[Received] = deque()
        #: (task run id, attempt) running here -> the event that stops it (set by a KillTask
        #: of that attempt on worker-control; a restart's attempt may start while the killed
        #: one still runs)
        self._cancels: dict[tuple[str, int], threading.Event] = {}
        self._recent = RecentAttempts()
        #: the directories WorkingDirectory children share (ostinato/tasks/working_directory.py)
        self._directories = WorkingDirectories()
        self._logs = LogsReader(kafka, codec)
        self.ready = threading.Event()
        #: the KV store tasks and kv() read and write (its table follows `kv` from `run`)
        self.kv = KvStore(kafka, codec)

    # ------------------------------------------------------------------ loop

    def run(self, stop: threading.Event) -> None:
        topic = self.kafka.topic("worker-tasks")
        membership.join(self._consumer, self.kafka, "worker-tasks", on_assign=self._on_assign,
                        on_revoke=self._on_revoke)
        log.info("worker started", topic=topic, slots=self.config.slots)
        start_service_thread("kills", self._follow_kills, stop)
        self.kv.start()
        try:
            while not stop.is_set():
                self._fetch()
                while self._backlog and len(self._running) < self.config.slots:
                    self._start(self._backlog.popleft())
                self._producer.poll(0)
                self._reap()
                self._report_slots()
        finally:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._producer.close(10)
            self._consumer.close()
            self.kv.close()

    def _report_slots(self) -> None:
        if self.metrics is not None:
            self.metrics.worker_slots.set(self.config.slots)
            self.metrics.worker_slots_busy.set(len(self._running))
            self.metrics.worker_tasks_waiting.set(len(self._backlog))

    def _fetch(self) -> None:
        """Keep a few slots' worth of tasks fetched ahead. (Pausing the partitions instead
        would drop librdkafka's fetched queue and stall about a second on resume.)"""
        room = 4 * self.config.slots - len(self._backlog)
        if room <= 0:
            time.sleep(0.001)
            return
        idle = not self._backlog and not self._running
        for message in self._idle.consume(room, 0.1 if idle else 0.005, busy=not idle):
            error = message.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    log.warning("consume error", error=str(error))
                continue
            self._backlog.append(Received.of(message))

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        if not partitions:  # a cooperative rebalance that added none
            return
        log.info("partitions assigned", partitions=[tp.partition for tp in partitions])
        self.ready.set()

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        revoked = {tp.partition or 0 for tp in partitions}
        self._idle.forget(partitions)
        self._offsets.forget(revoked)
        self._backlog = deque(m for m in self._backlog if m.partition not in revoked)

    def _start(self, message: Received) -> None:
        self._offsets.start(message.partition, message.offset)
        future = self._pool.submit(self._execute, message)
        self._running[future] = (message.partition, message.offset)

    def _reap(self) -> None:
        finished = [f for f in self._running if f.done()]
        for future in finished:
            partition, offset = self._running.pop(future)
            error = future.exception()
            if error is not None:  # a bug in the worker itself: do not commit, run it again
                log.error("worker task crashed", error=repr(error), partition=partition, offset=offset)
                continue
            self._offsets.finish(partition, offset)
        commits = self._offsets.committable()
        if commits:
            topic = self.kafka.topic("worker-tasks")
            self._consumer.commit(offsets=[TopicPartition(topic, p, o) for p, o in commits.items()],
                                  asynchronous=True)

    # ------------------------------------------------------------------ one task

    def _execute(self, message: Received) -> None:
        try:
            _, record = self.codec.decode(message.value, expected="WorkerTask")
        except MalformedRecord as error:
            self._dead_letter(message, error.reason)
            return
        try:
            task = rec.worker_task_from_record(record)
        except ValidationError as error:
            self._send_result(record["executionId"], record["taskRunId"], record["attempt"],
                              TaskOutcome(StateType.FAILED, {}, [LogLine("ERROR", f"This worker cannot run "
                                          f"task `{record['taskId']}` ({record['taskType']}): {error}",
                                          utcnow())], []))
            return
        bound = log.bind(executionId=task.execution_id, taskRunId=task.task_run_id, taskId=task.task.id)
        first = self._recent.take(task.task_run_id, task.attempt)
        if first is not None:
            bound.info("task attempt received again: skipped, the first copy's result stands",
                       attempt=task.attempt)
            first.wait()
            return
        live = LiveLogs([], lambda lines: self._send_logs(task, lines))
        try:
            # the attempt's span, child of the executor's that sent the task; the records
            # produced meanwhile (RUNNING, the result) carry it
            with tracing.execution_span(task.execution_id, f"task {task.task.id}", message.headers,
                                        attributes=task_attributes(task), child_of_record=True) as span:
                self._send_result(task.execution_id, task.task_run_id, task.attempt, None)
                started = time.monotonic()
                live.start()  # after RUNNING: a follower sees the state before the first line
                try:
                    outcome = self._run_with_timeout(task, live)
                finally:
                    live.finish([])  # stop shipping: the outcome's remaining lines are sent below
                seconds = time.monotonic() - started
                bound.info("task ended", state=outcome.state, seconds=round(seconds, 3))
                if self.metrics is not None:
                    self.metrics.tasks_total.labels(type=task.task.type, state=outcome.state).inc()
                    self.metrics.task_seconds.labels(type=task.task.type).observe(seconds)
                logged = live.finish(outcome.logs)
                self._send_result(task.execution_id, task.task_run_id, task.attempt, outcome)
                tracing.set_state(span, outcome.state, failed=StateType(outcome.state).is_failed)
                for delivery in logged:  # a line lost in a crash would be lost for good
                    self._confirm(delivery)
        finally:
            self._recent.end(task.task_run_id, task.attempt)

    def _follow_kills(self, stop: threading.Event) -> None:
        """Stop the task runs named on `worker-control` that run here. Read from about the
        end (on the embedded broker a little before it: older kills match nothing)."""
        start = approximate_ends(self.kafka, "worker-control")[0]
        follower = Follower(self.kafka, {("worker-control", 0): start}, role="background")
        try:
            while not stop.is_set():
                for received in follower.poll(100, 0.5):
                    self._kill(received)
        finally:
            follower.close()

    def _kill(self, received: Received) -> None:
        # read by every worker: each dead-letters a malformed one (duplicates are accepted)
        decoded = self._dead_letters.decode(received, expected="KillTask")
        if decoded is None:
            return
        record = decoded[1]
        wanted = record.get("attempt")  # None (a record of an older executor): every attempt
        for (task_run_id, attempt), cancel in list(self._cancels.items()):
            if task_run_id == record["taskRunId"] and wanted in (None, attempt):
                log.info("killing task", executionId=record["executionId"],
                         taskRunId=task_run_id, attempt=attempt)
                cancel.set()

    def _run_with_timeout(self, task: rec.WorkerTask, live: LiveLogs) -> TaskOutcome:
        key = (task.task_run_id, task.attempt)
        cancel = self._cancels[key] = threading.Event()
        try:
            return self._run(task, cancel, live)
        finally:
            self._cancels.pop(key, None)

    def _run(self, task: rec.WorkerTask, cancel: threading.Event, live: LiveLogs) -> TaskOutcome:

        def sleep(seconds: float) -> None:
            if cancel.wait(seconds):
                raise TaskKilled("Task stopped")

        storage = self._scoped_storage(task)
        variables: dict[str, Any] = {**task.variables, "__secrets__": self.config.secrets,
                                     "__read__": storage.read_text}
        context = RunContext(variables=variables, storage=storage, clock=utcnow, sleep=sleep,
                             log_level=task.task.log_level, cancel_event=cancel,
                             process_user=self.process_user,
                             kv=KvClient(self.kv, task.tenant_id, task.namespace),
                             services={LOGS_SOURCE: self._logs_source(task)},
                             logs=live.lines, on_log=live.added)

        def execute() -> TaskOutcome:
            return run_worker_task(task.task, context, task_run_id=task.task_run_id,
                                   attempt=task.attempt, group=task.working_directory,
                                   directories=self._directories)

        if task.task.timeout is None:
            return execute()
        limit = parse_duration(task.task.timeout).total_seconds()
        box: list[TaskOutcome] = []
        runner = threading.Thread(target=lambda: box.append(execute()), daemon=True)
        runner.start()
        runner.join(limit)
        if box:
            return box[0]
        cancel.set()
        runner.join(3)
        message = f"Task timed out after {task.task.timeout}"
        return TaskOutcome(StateType.FAILED, {}, [*context.logs, LogLine("ERROR", message, utcnow())], [])

    def _logs_source(self, task: rec.WorkerTask) -> Callable[[str], list[LogEntry]]:
        """log.Fetch's reader: the lines of an execution, read from about this one's start."""
        execution = task.variables.get("execution")
        start = execution.get("startDate") if isinstance(execution, dict) else None
        since = _instant(start) if isinstance(start, str) else None
        return lambda execution_id: self._logs.read(execution_id, since)

    @staticmethod
    def _process_user(name: str | None) -> ProcessUser | None:
        """The account scripts run as: `name` when this worker runs as root, else its own
        (a warning says so: scripts could then read this process's environment)."""
        user = process_user_named(name)
        if name and user is None:
            log.warning("scripts run as the worker's own user: only root may run them as "
                        "another", script_user=name)
        elif user is None and os.geteuid() == 0:
            log.warning("scripts run as root, like the worker: set OSTINATO_SCRIPT_USER so "
                        "that they cannot read its environment and credentials")
        return user

    def _scoped_storage(self, task: rec.WorkerTask) -> ScopedStorage:
        """The storage as this task's execution may use it: it reads its namespace's files and
        its linked executions' (the links come from the executor with the task), writes only
        under its own folder (ostinato/storage/scope.py)."""
        links = task.variables.get(LINKS_VARIABLE)
        scope = scope_of(task.namespace, task.flow_id, task.execution_id,
                         links if isinstance(links, dict) else None)
        return ScopedStorage(self.storage, scope)

    def _send_logs(self, task: rec.WorkerTask, lines: list[LogLine]) -> list[Delivery]:
        """Produce the log lines; their deliveries, to confirm before the offset is committed."""
        deliveries = []
        for line in lines:
            entry = rec.LogEntry(
                namespace=task.namespace, flow_id=task.flow_id, execution_id=task.execution_id,
                level=line.level, message=line.message, timestamp=line.timestamp,
                task_run_id=task.task_run_id, task_id=task.task.id, attempt=task.attempt,
                tenant_id=task.tenant_id)
            deliveries.append(self._produce(
                "logs", task.execution_id, self.codec.encode("LogEntry", rec.log_entry_record(entry)),
                wait=False))
        return deliveries

    def _send_result(self, execution_id: str, task_run_id: str, attempt: int,
                     outcome: TaskOutcome | None) -> None:
        """RUNNING when `outcome` is None, else the final state (size-checked)."""
        at = utcnow()
        if outcome is None:
            event = ev.WorkerTaskResult(str(uuid.uuid4()), at, execution_id, task_run_id, attempt,
                                        StateType.RUNNING)
        else:
            errors = [{"level": l.level, "message": l.message} for l in outcome.logs if l.level == "ERROR"]
            event = ev.WorkerTaskResult(str(uuid.uuid4()), at, execution_id, task_run_id, attempt,
                                        outcome.state, outcome.outputs, errors, outcome.metrics)
        name, record = rec.event_to_record(event)
        value = self.codec.encode(name, record)
        if len(value) > self.config.context_limit:
            message = (f"The result of this task run is {len(value)} bytes, over the context limit "
                       f"of {self.config.context_limit} bytes. Store large data in internal "
                       f"storage (for example with outputFiles) and pass its kestra:// URI instead.")
            event = ev.WorkerTaskResult(str(uuid.uuid4()), at, execution_id, task_run_id, attempt,
                                        StateType.FAILED, None, [{"level": "ERROR", "message": message}])
            name, record = rec.event_to_record(event)
            value = self.codec.encode(name, record)
        self._produce("executor", execution_id, value, wait=outcome is not None)

    def _produce(self, topic: str, key: str, value: bytes, *, wait: bool) -> Delivery:
        delivery = self._producer.produce(topic, key, value)
        if wait:
            self._confirm(delivery)
        return delivery

    def _confirm(self, delivery: Delivery) -> None:
        """Raises DeliveryFailed: the task's offset is then not committed (it runs again)."""
        self._producer.confirm([delivery])

    def _dead_letter(self, message: Received, reason: str) -> None:
        """Write the letter and wait for it (DeliveryFailed leaves the offset uncommitted)."""
        self._produce("dead-letters", message.key or "", message.dead_letter(self.codec, reason), wait=True)
        count_dead_letter(message.topic)
        log.error("record sent to the dead letters", offset=message.offset, reason=reason)
