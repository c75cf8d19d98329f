"""The executor's local state: its RocksDB store, executions in memory, pending timers.

The store mirrors the changelog record for record; a partition is restored from the
changelog (from the offset the store last applied) before its events are processed.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ostinato.execution import ended_from_header
from ostinato.execution.model import Execution
from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.dead_letters import DeadLetters
from ostinato.kafka.producer import ConfirmingProducer
from ostinato.kafka.restore import read_partitions_to_end
from ostinato.logging import get_logger
from ostinato.store.executions import ExecutionStore, StoreBatch
from ostinato.wire import records as rec
from ostinato.wire.codec import Codec
from ostinato.services.executor.limits import ContextMeter, ContextSize

log = get_logger(component="executor")


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch: the finished index's time (store.ended_key)."""
    return int(moment.timestamp() * 1000)


def finished_ms(header: dict[str, Any]) -> int | None:
    """When an `ExecutionHeader` record's execution finished (ms since the epoch); None if
    it has not (a terminal state with finally or afterExecution tasks still to run is not)."""
    end_date = header["state"]["endDate"]
    if end_date is None or not ended_from_header(header):
        return None
    return to_ms(end_date)


@dataclass
class Live:
    """An execution in memory, with the encoded size of each of its records."""

    partition: int
    execution: Execution
    header: bytes
    sizes: dict[str, int]
    #: the timers indexed in the store for this execution (saves a scan per event)
    indexed_timers: set[str] = field(default_factory=set)
    #: task run id -> the values object last written as its TaskRunValues record (a new
    #: object, not an equal one, means they were rendered again: compared with `is`)
    values_written: dict[str, Any] = field(default_factory=dict)
    #: measures its context (inputs, trigger, labels, outputs), not its records
    context: ContextMeter = field(default_factory=ContextMeter)

    @property
    def size(self) -> int:
        """Bytes of its stored records, bookkeeping included: not its context (invariant 4)."""
        return sum(self.sizes.values())

    def context_size(self, *, excluding: str | None = None) -> ContextSize:
        """Its context, the outputs of task run `excluding` left out."""
        return self.context.measure(self.execution, excluding=excluding)


class ExecutorState:
    def __init__(self, kafka: KafkaSettings, codec: Codec, store: ExecutionStore) -> None:
        self.kafka = kafka
        self.codec = codec
        self.store = store
        self.live: dict[str, Live] = {}
        self.owned: set[int] = set()
        self._timers: list[tuple[datetime, int, str, str]] = []
        self._dead_letters: DeadLetters | None = None

    # ---- partitions
    def assign(self, partitions: Iterable[int]) -> None:
        """Restore partitions from the changelog (all through one consumer), then take their
        pending timers."""
        partitions = sorted(set(partitions) - self.owned)
        self._restore(partitions)
        for partition in partitions:
            self.owned.add(partition)
            for fire_at, execution_id, timer_id in self.store.timers(partition):
                heapq.heappush(self._timers, (instant(fire_at), partition, execution_id, timer_id))

    def revoke(self, partitions: set[int]) -> None:
        self.owned -= partitions
        self.live = {k: v for k, v in self.live.items() if v.partition not in partitions}
        self._timers = [t for t in self._timers if t[1] not in partitions]
        heapq.heapify(self._timers)

    def _restore(self, partitions: list[int]) -> None:
        starts = {p: (self.store.changelog_offset(p) or -1) + 1 for p in partitions}
        batches = {p: StoreBatch() for p in partitions}
        counts = dict.fromkeys(partitions, 0)

        def apply(partition: int, key: str, value: bytes | None, offset: int) -> None:
            counts[partition] += 1
            batch = batches[partition]
            batch.offsets[partition] = offset  # first: a refused record is passed too
            execution_id, _, run_id = key.partition("/")
            if run_id.endswith(rec.VALUES_SUFFIX):
                store_key = self.store.values_key(partition, execution_id,
                                                  run_id[:-len(rec.VALUES_SUFFIX)])
                self._check(value, "TaskRunValues")
            elif run_id:
                store_key = self.store.run_key(partition, execution_id, run_id)
                self._check(value, "TaskRun")
            else:
                store_key = self.store.header_key(partition, execution_id)
                self._index_header(partition, execution_id, value, batch)
            if value is None:
                batch.delete(store_key)
            else:
                batch.put(store_key, value)

        read_partitions_to_end(self.kafka, "executor-changelog", starts, apply,
                               dead_letters=self._restore_dead_letters())
        for partition in partitions:
            self.store.write(batches[partition])
            log.info("partition restored", partition=partition, records=counts[partition],
                     from_offset=starts[partition])

    def _check(self, value: bytes | None, expected: str) -> None:
        """Raise MalformedRecord for a changelog value that is not a `expected` record (the
        restore dead-letters it rather than store what the executor could not load)."""
        if value is not None:
            self.codec.decode(value, expected=expected)

    def _restore_dead_letters(self) -> DeadLetters:
        if self._dead_letters is None:
            self._dead_letters = DeadLetters(ConfirmingProducer(self.kafka), self.codec,
                                             reader="executor-restore")
        return self._dead_letters

    def _index_header(self, partition: int, execution_id: str, value: bytes | None,
                      batch: StoreBatch) -> None:
        """Index a restored header's timers, and its finish time if it finished. Raises
        MalformedRecord, before changing `batch`, for a value that is not a header."""
        header = None if value is None else self.codec.decode(value, expected="ExecutionHeader")[1]
        for timer_id in self.store.timer_ids(partition, execution_id):
            batch.delete(self.store.timer_key(partition, execution_id, timer_id))
        if header is None:
            return  # its finished-index entry, if any, is now stale: the sweep drops it
        for timer in header.get("timers") or []:
            batch.put(self.store.timer_key(partition, execution_id, timer["id"]),
                      rec.text_of_instant(timer["fireAt"]).encode())
        finished = finished_ms(header)
        if finished is not None:
            batch.put(self.store.ended_key(partition, finished, execution_id), b"")

    # ---- executions
    def load(self, partition: int, execution_id: str) -> Live | None:
        """The execution in memory, else from the store (kept in memory while unfinished)."""
        live = self.live.get(execution_id)
        if live is not None:
            return live
        header = self.store.header(partition, execution_id)
        if header is None:
            return None
        runs = self.store.runs(partition, execution_id)
        _, header_record = self.codec.decode(header, expected="ExecutionHeader")
        run_records = [self.codec.decode(value, expected="TaskRun")[1] for value in runs]
        execution = rec.execution_from_changelog(header_record, run_records)
        sizes = {"header": len(header), **{r["id"]: len(v) for r, v in zip(run_records, runs)}}
        live = Live(partition, execution, header, sizes,
                    set(self.store.timer_ids(partition, execution_id)))
        for value in self.store.values(partition, execution_id):
            _, record = self.codec.decode(value, expected="TaskRunValues")
            rec.apply_task_run_values(execution, record)
            run_id = record["taskRunId"]
            live.sizes[rec.changelog_key(execution_id, run_id, values=True)] = len(value)
            live.values_written[run_id] = execution.find(run_id).progress.get("values")  # type: ignore[union-attr]
        if not execution.finished:
            self.live[execution_id] = live
        return live

    def track(self, partition: int, execution: Execution, header: bytes) -> Live:
        """The in-memory entry of an execution just created or loaded."""
        live = self.live.get(execution.id)
        if live is None:
            live = self.live[execution.id] = Live(partition, execution, header, {})
        return live

    def evict_finished(self) -> None:
        for execution_id in [i for i, live in self.live.items() if live.execution.finished]:
            del self.live[execution_id]

    # ---- timers
    def sync_timers(self, partition: int, live: Live, batch: StoreBatch) -> None:
        """Index the execution's timers in the store and schedule the new ones."""
        execution = live.execution
        current = set(execution.timers)
        for timer_id in live.indexed_timers - current:
            batch.delete(self.store.timer_key(partition, execution.id, timer_id))
        for timer_id in current - live.indexed_timers:
            timer = execution.timers[timer_id]
            batch.put(self.store.timer_key(partition, execution.id, timer_id), timer.fire_at.encode())
            heapq.heappush(self._timers, (instant(timer.fire_at), partition, execution.id, timer_id))
        live.indexed_timers = current

    def due_timers(self, now: datetime) -> Iterator[tuple[str, str]]:
        """(execution id, timer id) of every timer due by `now` and still pending."""
        while self._timers and self._timers[0][0] <= now:
            _, partition, execution_id, timer_id = heapq.heappop(self._timers)
            if partition not in self.owned:
                continue
            live = self.load(partition, execution_id)
            if live is not None and timer_id in live.execution.timers:
                yield execution_id, timer_id
