"""Finished executions leave the executor's store and changelog after a retention (opt-in).

Every time an execution's header is written finished, the store indexes it by the time it
finished (`e/<p>/<ms>/<id>`), on the live path and on restore alike. The sweep reads that
index oldest first up to now minus the retention and, for each execution still finished at
that time, writes a tombstone for each of its records to the changelog (so a restore from
scratch forgets it too; header last, so a crash midway leaves it to the next sweep) and
deletes them from the store. An entry whose execution was restarted since, or is gone,
is stale: the sweep drops it. A later finish has an entry of its own.

The API's view and the `executions` topic are not touched: an execution stays readable
there. Only what needs the executor's copy (restart, replay, resume, kill) is refused, with
a log line on the execution saying why (ExecutorService._flow_missing).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from ostinato.flow.durations import format_duration
from ostinato.kafka.outbox import Outbox
from ostinato.logging import get_logger
from ostinato.store.executions import ExecutionStore, StoreBatch
from ostinato.wire import records as rec
from ostinato.wire.codec import Codec
from ostinato.services.executor.state import ExecutorState, finished_ms, to_ms

log = get_logger(component="executor")


@dataclass(frozen=True)
class Retention:
    keep: timedelta
    #: seconds between two sweeps
    every: float = 60.0
    #: executions purged per partition and sweep, so that a sweep never holds the loop long
    batch: int = 500


class Sweeper:
    def __init__(self, retention: Retention, state: ExecutorState, codec: Codec) -> None:
        self.retention = retention
        self.state = state
        self.store: ExecutionStore = state.store
        self.codec = codec
        self._next = time.monotonic() + retention.every

    def sweep_if_due(self, now: datetime, outbox: Outbox, batch: StoreBatch) -> int:
        """Purge what finished before `now` minus the retention; how many executions."""
        if time.monotonic() < self._next:
            return 0
        self._next = time.monotonic() + self.retention.every
        cutoff = to_ms(now - self.retention.keep)
        purged = sum(self._sweep(partition, cutoff, outbox, batch) for partition in sorted(self.state.owned))
        if purged:
            log.info("finished executions purged", count=purged, retention=format_duration(self.retention.keep))
        return purged

    def _sweep(self, partition: int, cutoff: int, outbox: Outbox, batch: StoreBatch) -> int:
        purged = 0
        for index_key, ended, execution_id in self.store.ended_before(partition, cutoff, self.retention.batch):
            header_key = self.store.header_key(partition, execution_id)
            if header_key in batch.puts:
                continue  # changed by an event of this very batch (a restart): not now
            header = self.store.header(partition, execution_id)
            if header is None or finished_ms(self.codec.decode(header, expected="ExecutionHeader")[1]) != ended:
                batch.delete(index_key)  # gone, or restarted since (a later finish has its own)
                continue
            self._purge(partition, execution_id, outbox, batch)
            batch.delete(index_key)
            purged += 1
        return purged

    def _purge(self, partition: int, execution_id: str, outbox: Outbox, batch: StoreBatch) -> None:
        run_ids, values_ids = self.store.record_ids(partition, execution_id)
        for run_id in run_ids:
            outbox.send("executor-changelog", rec.changelog_key(execution_id, run_id), None, partition=partition)
            batch.delete(self.store.run_key(partition, execution_id, run_id))
        for run_id in values_ids:
            outbox.send("executor-changelog", rec.changelog_key(execution_id, run_id, values=True), None,
                        partition=partition)
            batch.delete(self.store.values_key(partition, execution_id, run_id))
        for timer_id in self.store.timer_ids(partition, execution_id):
            batch.delete(self.store.timer_key(partition, execution_id, timer_id))
        outbox.send("executor-changelog", rec.changelog_key(execution_id), None, partition=partition)
        batch.delete(self.store.header_key(partition, execution_id))
        self.state.live.pop(execution_id, None)
