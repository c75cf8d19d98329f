"""`LagMonitor` over a real `GroupConsumer` on the embedded broker: the lag of each
assigned partition is the records not committed yet (fetched or not), it falls to 0 once
they are committed, and a partition's series goes when the partition is revoked."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Producer
from prometheus_client import CollectorRegistry, Gauge

from ostinato.cli.stack import LocalStack
from ostinato.kafka.config import KafkaSettings
from ostinato.metrics import LAG_INTERVAL_ENV, lag_interval
from ostinato.metrics.lag import GroupConsumer, LagMonitor, live_consumers


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaSettings]:
    data_dir: Path = tmp_path_factory.mktemp("lag")
    stack = LocalStack(data_dir=data_dir, services=())
    stack.start()
    try:
        yield stack.settings()
    finally:
        stack.stop()


def lag_series(registry: CollectorRegistry) -> dict[tuple[str, str, str], float]:
    return {(s.labels["group"], s.labels["topic"], s.labels["partition"]): s.value
            for family in registry.collect() for s in family.samples}


def assigned(consumer: GroupConsumer, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not consumer.assignment():
        assert time.monotonic() < deadline, "no partition assigned"
        consumer.poll(0.1)


def test_lag_counts_uncommitted_records_then_zero_and_revoked_partitions_go(
        settings: KafkaSettings) -> None:
    topic = settings.topic("triggers")
    producer = Producer(settings.producer())
    for _ in range(5):
        producer.produce(topic, key=b"k", value=b"x", partition=0)
    assert producer.flush(10) == 0

    registry = CollectorRegistry()
    gauge = Gauge("lag", "lag", ("group", "topic", "partition"), registry=registry)
    monitor = LagMonitor(lambda: gauge)
    consumer = GroupConsumer(settings.consumer(settings.group("lag-test"),
                                               **{"enable.partition.eof": False}))
    try:
        consumer.subscribe([topic])
        assigned(consumer)
        received = []
        deadline = time.monotonic() + 30
        while len(received) < 5 and time.monotonic() < deadline:
            received += [m for m in consumer.consume(10, 0.5) if m.error() is None]
        assert len(received) == 5

        monitor.measure()  # read but not committed: still lag
        group = settings.group("lag-test")
        assert lag_series(registry) == {(group, topic, "0"): 5, (group, topic, "1"): 0,
                                        (group, topic, "2"): 0, (group, topic, "3"): 0}

        consumer.commit(asynchronous=False)
        monitor.measure()
        assert set(lag_series(registry).values()) == {0}

        consumer.unsubscribe()  # every partition revoked (in the next polls)
        deadline = time.monotonic() + 30
        while consumer.assignment():
            assert time.monotonic() < deadline, "partitions not revoked"
            consumer.poll(0.1)
        monitor.measure()
        assert lag_series(registry) == {}
    finally:
        consumer.close()
    assert consumer not in live_consumers()
    assert consumer.partition_lags() == {}  # closed: never asks the freed handle


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
