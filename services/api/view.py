"""The API's local view of `executions` and `logs`, materialised into RocksDB by a thread.

Every API replica reads every partition itself (no consumer group: each needs everything)
from the offsets its store holds, so a restart resumes where it stopped and replicas agree
once they have read the same records. Each batch is written with its offsets, then
announced to the HTTP handlers waiting on it (follow, wait=true) through a `Hub`.

A record the view cannot read is dead-lettered and skipped; every replica does so, so one
record may have several letters (accepted: see ostinato/kafka/dead_letters.py).
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

from ostinato.execution import ended_from_header
from ostinato.execution.model import Execution, iso
from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.dead_letters import UNREADABLE, DeadLetters, reason_of
from ostinato.kafka.follower import Follower
from ostinato.kafka.messages import Received
from ostinato.kafka.producer import ConfirmingProducer
from ostinato.logging import get_logger
from ostinato.management import start_service_thread
from ostinato.store.view import ViewBatch, ViewStore, log_key
from ostinato.wire import records as rec
from ostinato.wire.codec import Codec
from ostinato.services.api.kestra_json import execution_json, log_json, summary_of_header

log = get_logger(component="api-view")

TOPICS = ("executions", "logs")


@dataclass(eq=False)
class Subscription:
    key: str
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    #: wants each change of an execution with its JSON (a follow); else only whether it
    #: finished, with the JSON at the end (wait=true), which spares encoding big executions
    progress: bool = True


class Hub:
    """Hands what the view thread applies to the asyncio handlers that subscribed to it."""

    def __init__(self) -> None:
        self._subscriptions: dict[str, set[Subscription]] = {}
        self._lock = threading.Lock()

    def subscribe(self, key: str, queue: asyncio.Queue[Any] | None = None, *,
                  progress: bool = True) -> Subscription:
        """Call from the event loop; items published after this call are delivered (to
        `queue` when given, so one handler can wait on several keys)."""
        subscription = Subscription(key, asyncio.get_running_loop(), progress=progress)
        if queue is not None:
            subscription.queue = queue
        with self._lock:
            self._subscriptions.setdefault(key, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            subscribers = self._subscriptions.get(subscription.key)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._subscriptions[subscription.key]

    def subscribers(self, key: str) -> list[Subscription]:
        with self._lock:
            return list(self._subscriptions.get(key, ()))

    def publish(self, key: str, item: Any) -> None:
        with self._lock:
            subscribers = list(self._subscriptions.get(key, ()))
        for subscription in subscribers:
            try:
                subscription.loop.call_soon_threadsafe(subscription.queue.put_nowait, item)
            except RuntimeError:  # its loop is closed: the handler is gone
                self.unsubscribe(subscription)


def execution_key(execution_id: str) -> str:
    return f"execution/{execution_id}"


def logs_key(execution_id: str) -> str:
    return f"logs/{execution_id}"


class ExecutionView:
    """Start with `start()`; `caught_up` once every partition was read to its end once."""

    def __init__(self, settings: KafkaSettings, codec: Codec, data_dir: Path, *,
                 retention: timedelta | None = None, sweep_seconds: float = 60.0) -> None:
        self._settings = settings
        #: executions that ended longer ago than this are forgotten (None: kept forever)
        self._retention = retention
        self._sweep_seconds = sweep_seconds
        self._next_sweep = time.monotonic() + sweep_seconds
        self._codec = codec
        self.store = ViewStore(data_dir / "view")
        self.hub = Hub()
        self._stop = threading.Event()
        self._caught_up = threading.Event()
        self._thread: threading.Thread | None = None
        self._producer = ConfirmingProducer(settings)
        self._dead_letters = DeadLetters(self._producer, codec, reader="api-view")

    def start(self) -> None:
        self._thread = start_service_thread("api-view", self._follow)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._producer.close(5)
        self.store.close()

    @property
    def caught_up(self) -> bool:
        return self._caught_up.is_set()

    @property
    def reading(self) -> bool:
        """False once the reader thread has stopped (an error it could not get past)."""
        return self._thread is not None and self._thread.is_alive()

    def wait_caught_up(self, timeout: float) -> bool:
        return self._caught_up.wait(timeout)

    # ---------------------------------------------------------------- reads

    def execution(self, execution_id: str) -> Execution | None:
        decoded: dict[str, Any] = {}

        def run_count(header: bytes) -> int:
            decoded.update(self._codec.decode(header, expected="ExecutionHeader")[1])
            return int(decoded["taskRunCount"])

        stored = self.store.execution(execution_id, run_count)
        if stored is None:
            return None
        _, runs = stored
        header_record = decoded
        run_records = [self._codec.decode(run, expected="TaskRun")[1] for run in runs]
        return rec.execution_from_changelog(header_record, run_records)

    def summaries(self, flow_id: str | None = None) -> Iterator[dict[str, Any]]:
        return self.store.summaries(flow_id)

    def logs(self, execution_id: str) -> Iterator[tuple[bytes, dict[str, Any]]]:
        """(key, log entry JSON) of an execution's logs, in the order they were written."""
        return self.store.logs(execution_id)

    # ---------------------------------------------------------------- the reader

    def _follow(self) -> None:
        follower = Follower.of_topics(self._settings, TOPICS, self._start_offsets())
        try:
            while not self._stop.is_set():
                records = follower.poll(1000, 0.1)
                if records:
                    self._apply(records)
                if self._retention is not None and time.monotonic() >= self._next_sweep:
                    self._sweep(self._retention)
                    self._next_sweep = time.monotonic() + self._sweep_seconds
                if not self._caught_up.is_set() and follower.reached_end:
                    log.info("view caught up with executions and logs")
                    self._caught_up.set()
        finally:
            follower.close()

    def _start_offsets(self) -> dict[tuple[str, int], int]:
        from ostinato.kafka.follower import partitions_of

        starts = {(topic, p): self.store.offset(topic, p)
                  for topic in TOPICS for p in partitions_of(self._settings, topic)}
        log.info("view reading", partitions=len(starts), resumed_from=sum(starts.values()))
        return starts

    def _apply(self, messages: list[Received]) -> None:
        """Store a batch as it comes: an execution's header and the task runs each record
        carries, re-encoded from the decoded record with no detour through the execution
        model, so the cost follows the size of the updates, not of the executions."""
        batch = ViewBatch()
        headers: dict[str, dict[str, Any]] = {}
        new_logs: list[tuple[bytes, dict[str, Any]]] = []
        deleted: set[str] = set()
        prefix = len(self._settings.topic_prefix)
        for message in messages:
            topic = message.topic[prefix:]
            batch.offsets[(topic, message.partition)] = message.offset + 1
            if message.value is None:
                if topic == "executions" and message.key is not None:
                    deleted.add(message.key)
                    headers.pop(message.key, None)
                continue
            try:
                self._read(message, batch, headers, new_logs, deleted)
            except UNREADABLE as error:
                self._dead_letters.send(message, reason_of(error))
        for execution_id, header in headers.items():
            batch.headers[execution_id] = self._codec.encode("ExecutionHeader", header)
            batch.summaries[execution_id] = summary_of_header(header)
        self.store.write(batch)
        for execution_id in deleted:
            self._forget(execution_id)
        for execution_id, header in headers.items():
            self._announce(execution_id, header)
        for key, entry in new_logs:
            self.hub.publish(logs_key(entry["executionId"]), (key, entry))

    def _read(self, message: Received, batch: ViewBatch, headers: dict[str, dict[str, Any]],
              new_logs: list[tuple[bytes, dict[str, Any]]], deleted: set[str]) -> None:
        """Add one record to the batch; raises (one of UNREADABLE) before changing anything
        for a record that is not a log entry or an execution."""
        name, record = self._codec.decode(message.value)
        if name == "LogEntry":
            entry = log_json(rec.log_entry_from_record(record))
            key = log_key(record["executionId"], message.partition, message.offset)
            batch.logs[key] = entry
            new_logs.append((key, entry))
        elif name in ("Execution", "ExecutionUpdate"):
            header, runs = _split(record)
            encoded = {run["index"]: self._codec.encode("TaskRun", run) for run in runs}
            if header is not None:
                headers[header["id"]] = header
            deleted.discard(record["id"])
            for index, run in encoded.items():
                batch.runs[(record["id"], index)] = run
        else:
            raise ValueError(f"a {name} record, not a log entry or an execution")

    def _announce(self, execution_id: str, header: dict[str, Any]) -> None:
        """Tell the handlers waiting on this execution; its JSON (read back whole) only for
        a follow, or once it has finished."""
        subscribers = self.hub.subscribers(execution_key(execution_id))
        if not subscribers:
            return
        finished = ended_from_header(header)
        data = None
        if finished or any(s.progress for s in subscribers):
            execution = self.execution(execution_id)
            data = None if execution is None else execution_json(execution)
        self.hub.publish(execution_key(execution_id), (data, finished))

    def _forget(self, execution_id: str) -> None:
        summary = self.store.summary(execution_id)
        if summary is not None:
            self.store.forget(summary)

    def _sweep(self, retention: timedelta) -> None:
        """Forget executions that ended before now - retention (in the reader's thread, so
        no batch writes the same execution meanwhile)."""
        cutoff = iso(datetime.now(timezone.utc) - retention)
        old = [s for s in self.store.summaries() if s["endDate"] and s["endDate"] < cutoff]
        for summary in old:
            self.store.forget(summary)
        if old:
            log.info("executions past retention forgotten", count=len(old), ended_before=cutoff)


def _split(record: dict[str, Any]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The `ExecutionHeader` record and the `TaskRun` records of an `Execution` (all its
    runs, or one part's), or `ExecutionUpdate` (the runs it changed) record. A part before
    the last has no header: it comes with the last part (`rec.is_partial`)."""
    if "taskRunList" in record:
        runs = record["taskRunList"]
        if rec.is_partial(record):
            return None, runs
        header = {k: v for k, v in record.items()
                  if k not in ("taskRunList", "partIndex", "partCount")}
        header["taskRunCount"] = runs[-1]["index"] + 1 if runs else 0
        return header, runs
    return {k: v for k, v in record.items() if k != "taskRuns"}, record["taskRuns"]
