"""`LagMonitor` over a real `GroupConsumer` on the embedded broker: the lag of each
assigned partition is the records not committed yet (fetched or not), it falls to 0 once
they are committed, and a partition's series goes when the partition is revoked."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer
from prometheus_client import CollectorRegistry, Gauge

from ostinato.cli.stack import LocalStack
from ostinato.kafka.config import KafkaSettings
from ostinato.metrics import LAG_INTERVAL_ENV, lag_interval
from ostinato.metrics.lag import (
    DEFAULT_INTERVAL_SECONDS, GroupConsumer, LagMonitor, lags_of_statistics, live_consumers,
    set_statistics_interval,
)

Series = dict[tuple[str, str, str], float]


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaSettings]:
    data_dir: Path = tmp_path_factory.mktemp("lag")
    stack = LocalStack(data_dir=data_dir, services=())
    stack.start()
    set_statistics_interval(0.2)
    try:
        yield stack.settings()
    finally:
        set_statistics_interval(DEFAULT_INTERVAL_SECONDS)
        stack.stop()


def lag_series(registry: CollectorRegistry) -> Series:
    return {(s.labels["group"], s.labels["topic"], s.labels["partition"]): s.value
            for family in registry.collect() for s in family.samples}


def poll_until(consumer: GroupConsumer, condition: Any, what: str, timeout: float = 30) -> None:
    """Poll (statistics and rebalances come from polls) until `condition()`."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        consumer.poll(0.05)


def test_lag_counts_uncommitted_records_then_zero_and_revoked_partitions_go(
        settings: KafkaSettings) -> None:
    topic = settings.topic("triggers")
    group = settings.group("lag-test")
    producer = Producer(settings.producer())
    for _ in range(5):
        producer.produce(topic, key=b"k", value=b"x", partition=0)
    assert producer.flush(10) == 0

    registry = CollectorRegistry()
    gauge = Gauge("lag", "lag", ("group", "topic", "partition"), registry=registry)
    monitor = LagMonitor(lambda: gauge)

    def measured() -> Series:
        monitor.measure()
        return lag_series(registry)

    consumer = GroupConsumer(settings.consumer(group, **{"enable.partition.eof": False}))
    try:
        consumer.subscribe([topic])
        received: list[Any] = []
        deadline = time.monotonic() + 30
        while len(received) < 5 and time.monotonic() < deadline:
            received += [m for m in consumer.consume(10, 0.2) if m.error() is None]
        assert len(received) == 5

        # read but not committed: still lag
        expected = {(group, topic, "0"): 5, (group, topic, "1"): 0, (group, topic, "2"): 0,
                    (group, topic, "3"): 0}
        poll_until(consumer, lambda: measured() == expected, "a lag of 5 on partition 0")

        consumer.commit(asynchronous=False)
        poll_until(consumer, lambda: set(measured().values()) == {0}, "no lag once committed")

        consumer.unsubscribe()  # every partition revoked
        assert measured() == {}
    finally:
        consumer.close()
    assert consumer not in live_consumers()


def test_lags_from_statistics_skip_unknown_partitions_and_count_from_the_start_without_a_commit() -> None:
    stats = {"topics": {"t": {"partitions": {
        "0": {"hi_offset": 10, "lo_offset": 2, "committed_offset": 7},
        "1": {"hi_offset": 10, "lo_offset": 2, "committed_offset": -1001},
        "2": {"hi_offset": -1, "lo_offset": -1, "committed_offset": -1001},
        "-1": {"hi_offset": -1},
    }}}}
    assert lags_of_statistics(stats) == {("t", 0): 3, ("t", 1): 8}


def test_a_group_consumer_needs_a_group() -> None:
    with pytest.raises(ValueError, match="group.id"):
        GroupConsumer({"bootstrap.servers": "127.0.0.1:9"})


def test_the_lag_interval_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LAG_INTERVAL_ENV, "0.5")
    assert lag_interval() == 0.5
    for bad in ("soon", "0", "-2"):
        monkeypatch.setenv(LAG_INTERVAL_ENV, bad)
        with pytest.raises(ValueError, match=LAG_INTERVAL_ENV):
            lag_interval()
