"""`ostinato_consumer_lag{group,topic,partition}`: how far each group consumer of this
process is behind the end of each partition assigned to it.

Group consumers are made as `GroupConsumer` (a `confluent_kafka.Consumer` that registers
itself). Each asks librdkafka for its statistics every few seconds (`statistics.interval.ms`);
they arrive in the thread that polls, and give for each partition the high watermark of the
last fetch response and the group's committed offset, from which

    lag = high watermark - committed offset

(without a commit yet, the start of the partition stands in: the consumers start from
`earliest`). The committed offset is what another member would resume from, so records a
consumer fetched but has not finished still count (a worker's waiting tasks). The fetched
watermark is exact on Kafka and on the embedded broker, whose ListOffsets answer is not
(DESIGN.md, "Running it").

A service runs one `LagMonitor`, which copies these lags into the gauge every interval and
removes the series of a partition no longer assigned (revoked, lost, or its consumer
closed): the assignment is kept by the rebalance callbacks `subscribe` wraps.

Nothing here calls the consumer from another thread: confluent-kafka 2.16 lets one thread
at a time into a Consumer, so a second thread waits as long as the first keeps polling.
The statistics come only while the service polls: a worker whose slots and fetch-ahead
queue are full polls again once a slot frees, and until then its lag keeps the last value.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from ostinato.logging import get_logger

log = get_logger(component="consumer-lag")

#: seconds between two statistics and two measures (OSTINATO_LAG_INTERVAL, through `serve`)
DEFAULT_INTERVAL_SECONDS = 5.0

#: every live group consumer of this process
_consumers: weakref.WeakSet[GroupConsumer] = weakref.WeakSet()
_registry_lock = threading.Lock()
#: the statistics interval of the consumers made from now on (`set_statistics_interval`)
_interval_seconds = DEFAULT_INTERVAL_SECONDS

Partition = tuple[str, int]


def set_statistics_interval(seconds: float) -> None:
    """How often the group consumers made from now on report their statistics."""
    global _interval_seconds
    if seconds <= 0:
        raise ValueError(f"the consumer-lag interval must be positive, not {seconds}")
    _interval_seconds = seconds


class GroupConsumer(Consumer):
    """A consumer of a consumer group whose lag the process's `LagMonitor` reports."""

    def __init__(self, config: dict[str, Any]) -> None:
        group = config.get("group.id")
        if not group:
            raise ValueError("a GroupConsumer needs `group.id` in its configuration")
        self.group = str(group)
        #: the partitions assigned now (rebalance callbacks) and their last lags (statistics)
        self._assigned: set[Partition] = set()
        self._lags: dict[Partition, int] = {}
        super().__init__({**config, "statistics.interval.ms": int(_interval_seconds * 1000),
                          "stats_cb": self._on_statistics})
        with _registry_lock:
            _consumers.add(self)

    def subscribe(self, topics: list[str], on_assign: Callable[..., Any] | None = None,
                  on_revoke: Callable[..., Any] | None = None,
                  on_lost: Callable[..., Any] | None = None) -> None:
        """`Consumer.subscribe`, noting each assignment and revocation (eager or
        incremental) before the caller's callbacks run. confluent-kafka assigns by itself
        after `on_assign` when the callback did not."""

        def assigned(consumer: Any, partitions: list[TopicPartition]) -> None:
            self._assigned = self._assigned | {(tp.topic, tp.partition) for tp in partitions}
            if on_assign is not None:
                on_assign(consumer, partitions)

        def revoked(callback: Callable[..., Any] | None) -> Callable[..., None]:
            def revoke(consumer: Any, partitions: list[TopicPartition]) -> None:
                self._assigned = self._assigned - {(tp.topic, tp.partition) for tp in partitions}
                if callback is not None:
                    callback(consumer, partitions)
            return revoke

        super().subscribe(topics, on_assign=assigned, on_revoke=revoked(on_revoke),
                          on_lost=revoked(on_lost if on_lost is not None else on_revoke))

    def note_assigned(self, partitions: list[TopicPartition]) -> None:
        """Partitions the owner assigned by hand (a standalone service: membership.py)."""
        self._assigned = self._assigned | {(tp.topic, tp.partition) for tp in partitions}

    def unsubscribe(self) -> None:
        self._assigned = set()
        super().unsubscribe()

    def close(self) -> None:
        with _registry_lock:
            _consumers.discard(self)
        self._assigned = set()
        super().close()

    def partition_lags(self) -> dict[Partition, int]:
        """(topic, partition) -> lag, for every assigned partition the statistics covered."""
        lags, assigned = self._lags, self._assigned
        return {partition: lags[partition] for partition in assigned if partition in lags}

    def _on_statistics(self, text: str) -> None:
        try:
            self._lags = lags_of_statistics(json.loads(text))
        except (ValueError, TypeError, AttributeError) as error:  # never break the poll
            log.warning("consumer statistics not understood", group=self.group, error=str(error))


def lags_of_statistics(stats: dict[str, Any]) -> dict[Partition, int]:
    """(topic, partition) -> lag from one librdkafka statistics document, for the
    partitions whose high watermark is known."""
    lags: dict[Partition, int] = {}
    for topic, detail in (stats.get("topics") or {}).items():
        for key, partition in (detail.get("partitions") or {}).items():
            number = int(key)
            end = int(partition.get("hi_offset", -1))
            if number < 0 or end < 0:  # -1: librdkafka's "unknown partition" entry
                continue
            committed = int(partition.get("committed_offset", -1))
            base = committed if committed >= 0 else max(int(partition.get("lo_offset", 0)), 0)
            lags[(topic, number)] = max(end - base, 0)
    return lags


def live_consumers() -> list[GroupConsumer]:
    with _registry_lock:
        return list(_consumers)


class LagMonitor:
    """Keeps the gauge `gauge()` returns (labels group, topic, partition) equal to the lag
    of every partition assigned to a live `GroupConsumer` of this process. The gauge is
    asked for at the first lag to show, so a process without group consumers (the API)
    does not export it."""

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
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.measure()

    def measure(self) -> None:
        """Show the last lags of every live consumer; drop the series of the others."""
        shown: set[tuple[str, str, str]] = set()
        for consumer in live_consumers():
            for (topic, partition), lag in consumer.partition_lags().items():
                labels = (consumer.group, topic, str(partition))
                self.gauge().labels(*labels).set(lag)
                shown.add(labels)
        for gone in self._shown - shown:
            self.gauge().remove(*gone)
        self._shown = shown
