"""Driving the real services from tests and benchmarks: deploy, request, watch the topics.

A `Watcher` thread follows `executions` and `logs` from the beginning for the whole session
(through the one `Follower`) and keeps a view of every execution; tests wait on conditions
with deadlines.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from ostinato.kafka.producer import ConfirmingProducer

from ostinato.decider import events as ev
from ostinato.execution.model import Execution
from ostinato.flow.inputs import type_inputs as _type_inputs
from ostinato.flow.model import Flow
from ostinato.kafka.client import BusClient, new_execution_id
from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.follower import Follower
from ostinato.storage import LocalStorage, input_file_uri_path
from ostinato.wire import records as rec
from ostinato.wire.codec import Codec, MalformedRecord

DEFAULT_TIMEOUT = 60.0


@dataclass
class Log:
    execution_id: str
    task_run_id: str | None
    task_id: str | None
    level: str
    message: str


class Watcher:
    """A live view of every execution and log line on the bus."""

    def __init__(self, settings: KafkaSettings, codec: Codec) -> None:
        self.settings = settings
        self.codec = codec
        self.executions: dict[str, Execution] = {}
        #: the parts of a large execution read so far, until its last part
        self._parts: dict[str, Execution] = {}
        self.logs: dict[str, list[Log]] = {}
        self.gaps: list[str] = []
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="watcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def wait(self, condition: Callable[[], Any], *, timeout: float = DEFAULT_TIMEOUT, what: str = "") -> Any:
        """Return the first truthy value of `condition()`; TimeoutError after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                value = condition()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"not reached within {timeout} s: {what}")
                self._changed.wait(min(remaining, 0.5))

    def _follow(self) -> None:
        follower = Follower.of_topics(self.settings, ("executions", "logs"))
        try:
            while not self._stop.is_set():
                records = follower.poll(500, 0.05)
                if not records:
                    continue
                with self._changed:
                    for received in records:
                        if received.value is not None:
                            self._read(received.value)
                    self._changed.notify_all()
        finally:
            follower.close()

    def _read(self, value: bytes) -> None:
        try:
            name, record = self.codec.decode(value)
        except MalformedRecord:  # the services dead-letter it; a test's view skips it
            return
        if name == "LogEntry":
            entry = rec.log_entry_from_record(record)
            self.logs.setdefault(entry.execution_id, []).append(Log(
                entry.execution_id, entry.task_run_id, entry.task_id, entry.level, entry.message))
        elif name in ("Execution", "ExecutionUpdate"):
            self._fold(record, partial=name == "Execution" and rec.is_partial(record))

    def _fold(self, record: dict[str, Any], *, partial: bool) -> None:
        """Fold a whole execution, an update or one part of a large execution (kept aside
        until its last part, which carries the header) into the view."""
        execution_id = record["id"]
        known = self._parts.pop(execution_id, None) or self.executions.get(execution_id)
        try:
            view = rec.apply_execution_update(known, record)
        except ValueError as error:  # a view that missed an update: a real bug to report
            self.gaps.append(str(error))
            return
        if partial:
            self._parts[execution_id] = view
        else:
            self.executions[execution_id] = view


class ServiceRunner:
    """Runs flows through the services of a running stack."""

    def __init__(self, settings: KafkaSettings, codec: Codec, storage_dir: Any) -> None:
        self.settings = settings
        self.codec = codec
        self.client = BusClient(settings, codec)
        self.storage = LocalStorage(storage_dir)
        self.watcher = Watcher(settings, codec)
        self.flows: dict[tuple[str, str], Flow] = {}
        self._producer = ConfirmingProducer(settings)
        #: the API's base URL when the stack runs one (webhook cases call it)
        self.api_url: str | None = None

    def close(self) -> None:
        """Stop the watcher and the client's flow table: their consumers would otherwise
        outlive the broker and retry a closed port until the process ends."""
        self.watcher.stop()
        self.client.close()
        self._producer.confirm_all(5)

    @property
    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    @property
    def executions(self) -> dict[str, Execution]:
        return self.watcher.executions

    def deploy(self, source: str) -> Flow:
        flow, _ = self.client.deploy(source)
        self.flows[(flow.namespace, flow.id)] = flow
        return flow

    def flow(self, namespace: str, flow_id: str) -> Flow:
        return self.flows[(namespace, flow_id)]

    def start(self, flow: Flow, inputs: dict[str, Any] | None = None, *,
              labels: dict[str, Any] | None = None, type_inputs: bool = True,
              schedule_date: datetime | None = None, execution_id: str | None = None) -> str:
        execution_id = execution_id or new_execution_id()
        typed = dict(inputs or {})
        if type_inputs:
            typed = _type_inputs(flow.inputs, typed, store_file=lambda input_id, value: self.storage.put(
                input_file_uri_path(flow.namespace, flow.id, execution_id, input_id, str(value).split("/")[-1]),
                open(str(value), "rb").read()))
        self.send(ev.ExecutionRequested(
            id=str(uuid.uuid4()), at=self.now, execution_id=execution_id, namespace=flow.namespace,
            flow_id=flow.id, flow_revision=flow.revision or 1, inputs=typed,
            labels=dict(labels or {}), schedule_date=schedule_date))
        return execution_id

    def send(self, event: ev.Event) -> None:
        name, record = rec.event_to_record(event)
        self._producer.send_and_confirm("executor", event.execution_id,
                                        self.codec.encode(name, record), timeout=10)

    def run(self, flow: Flow, inputs: dict[str, Any] | None = None, *,
            labels: dict[str, Any] | None = None, type_inputs: bool = True,
            timeout: float = DEFAULT_TIMEOUT) -> Execution:
        execution_id = self.start(flow, inputs, labels=labels, type_inputs=type_inputs)
        return self.wait_finished(execution_id, timeout=timeout)

    def wait_state(self, execution_id: str, state: str, *, timeout: float = DEFAULT_TIMEOUT) -> Execution:
        return self.watcher.wait(lambda: self._in_state(execution_id, state), timeout=timeout,
                                 what=f"execution {execution_id} in state {state}")

    def _in_state(self, execution_id: str, state: str) -> Execution | None:
        execution = self.executions.get(execution_id)
        if execution is None:
            return None
        if execution.state.current == state or any(h.state == state for h in execution.state.histories):
            return execution
        return None

    def wait_finished(self, execution_id: str, *, timeout: float = DEFAULT_TIMEOUT) -> Execution:
        def finished() -> Execution | None:
            execution = self.executions.get(execution_id)
            return execution if execution is not None and execution.finished else None

        return self.watcher.wait(finished, timeout=timeout, what=f"execution {execution_id} finished")

    def resume(self, execution_id: str) -> None:
        self.send(ev.Resume(str(uuid.uuid4()), self.now, execution_id))

    def executions_of(self, namespace: str, flow_id: str, count: int,
                      timeout: float = DEFAULT_TIMEOUT) -> list[Execution]:
        def enough() -> list[Execution] | None:
            found = [e for e in list(self.executions.values())
                     if e.namespace == namespace and e.flow_id == flow_id and e.finished]
            return found if len(found) >= count else None

        return self.watcher.wait(enough, timeout=timeout, what=f"{count} executions of {flow_id}")

    def wait_for(self, condition: Callable[[], Any], *, what: str, timeout: float = 10.0) -> Any:
        return self.watcher.wait(condition, timeout=timeout, what=what)

    def logs_of(self, execution_id: str) -> list[Log]:
        return list(self.watcher.logs.get(execution_id, []))
