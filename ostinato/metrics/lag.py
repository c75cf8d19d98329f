"""`ostinato_consumer_lag{group,topic,partition}`: how far each group consumer of this
process is behind the end of each partition assigned to it.

Group consumers are made as `GroupConsumer` (a `confluent_kafka.Consumer` that registers
itself); a service starts one `LagMonitor`, which every few seconds computes, for each
live consumer and each partition it has assigned,

    lag = end of the partition - the group's committed offset

and removes the gauge's child of a partition that is no longer assigned (revoked, lost,
or its consumer closed). The committed offset is what another member would resume from,
so a consumer that fetched records but has not finished them still counts them (a
worker's waiting tasks). Without a commit yet, the start of the partition stands in for it
(the consumers start from `earliest`).

The end is the larger of the broker's answer to ListOffsets and the high watermark the
consumer's last fetch response carried: on Kafka both are exact (the first is fresher for a
paused partition); on the embedded broker ListOffsets gives the base offset of the last
batch (DESIGN.md, "Running it"), so the fetched one is the right one there.

The monitor queries from its own thread (librdkafka's handle is thread-safe); `close` and a
query of the same consumer exclude each other, so the monitor never touches a closed handle.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from ostinato.logging import get_logger

log = get_logger(component="consumer-lag")

#: seconds between two measures (OSTINATO_LAG_INTERVAL overrides it in `serve`)
DEFAULT_INTERVAL_SECONDS = 5.0
#: seconds one broker request of the monitor may take
QUERY_TIMEOUT_SECONDS = 2.0
#: librdkafka's "no offset" (-1001) and the other logical offsets are negative
_VALID = 0

#: every live group consumer of this process
_consumers: weakref.WeakSet[GroupConsumer] = weakref.WeakSet()
_registry_lock = threading.Lock()


class GroupConsumer(Consumer):
    """A consumer of a consumer group whose lag the process's `LagMonitor` reports."""

    def __init__(self, config: dict[str, Any]) -> None:
        group = config.get("group.id")
        if not group:
            raise ValueError("a GroupConsumer needs `group.id` in its configuration")
        super().__init__(config)
        self.group = str(group)
        self._closing = threading.Lock()
        self._closed = False
        with _registry_lock:
            _consumers.add(self)

    def close(self) -> None:
        with self._closing:
            self._closed = True
            with _registry_lock:
                _consumers.discard(self)
            super().close()

    def partition_lags(self) -> dict[tuple[str, int], int]:
        """(topic, partition) -> lag, for every partition assigned now ({} once closed)."""
        with self._closing:
            if self._closed:
                return {}
            assigned = self.assignment()
            if not assigned:
                return {}
            committed = _offsets(self.committed(assigned, timeout=QUERY_TIMEOUT_SECONDS))
            return {(tp.topic, tp.partition): self._lag_of(tp, committed) for tp in assigned}

    def _lag_of(self, tp: TopicPartition, committed: dict[tuple[str, int], int]) -> int:
        low, end = self._bounds(tp)
        base = committed.get((tp.topic, tp.partition), -1)
        if base < _VALID:  # no commit yet: the group starts from the beginning (`earliest`)
            base = max(low, 0)
        return max(end - base, 0)

    def _bounds(self, tp: TopicPartition) -> tuple[int, int]:
        """(low, end) of the partition: the broker's answer and the last fetch's, merged."""
        probe = TopicPartition(tp.topic, tp.partition)
        low, queried = self.get_watermark_offsets(probe, timeout=QUERY_TIMEOUT_SECONDS)
        fetched = self.get_watermark_offsets(probe, cached=True)
        return int(low), max(int(queried), int(fetched[1]) if fetched else -1)


def _offsets(partitions: Iterable[TopicPartition]) -> dict[tuple[str, int], int]:
    return {(tp.topic, tp.partition): int(tp.offset) for tp in partitions if tp.error is None}


def live_consumers() -> list[GroupConsumer]:
    with _registry_lock:
        return list(_consumers)


class LagMonitor:
    """Keeps the gauge `gauge()` returns (labels group, topic, partition) equal to the lag
    of every partition assigned to a live `GroupConsumer` of this process. The gauge is
    asked for at the first measure with a consumer, so a process without group consumers
    (the API) does not export it."""

    def __init__(self, gauge: Callable[[], Any], *, interval: float = DEFAULT_INTERVAL_SECONDS) -> None:
        if interval <= 0:
            raise ValueError(f"the consumer-lag interval must be positive, not {interval}")
        self.gauge = gauge
        self.interval = interval
        self._shown: set[tuple[str, str, str]] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> LagMonitor:
        self._thread = threading.Thread(target=self._run, name="consumer-lag", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=QUERY_TIMEOUT_SECONDS * 3)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.measure()

    def measure(self) -> None:
        """One measure of every live consumer; a consumer that cannot be asked now (the
        broker out of reach, a rebalance) keeps its last values until the next measure."""
        shown: set[tuple[str, str, str]] = set()
        for consumer in live_consumers():
            try:
                lags = consumer.partition_lags()
            except (KafkaException, RuntimeError) as error:
                log.debug("consumer lag not measured", group=consumer.group, error=str(error))
                shown |= {labels for labels in self._shown if labels[0] == consumer.group}
                continue
            for (topic, partition), lag in lags.items():
                labels = (consumer.group, topic, str(partition))
                self.gauge().labels(*labels).set(lag)
                shown.add(labels)
        for gone in self._shown - shown:
            self.gauge().remove(*gone)
        self._shown = shown
