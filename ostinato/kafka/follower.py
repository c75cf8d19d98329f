"""The one follower: read partitions from given offsets, know when each reached its end,
then keep reading what comes.

No consumer group: every follower reads what it is given (a restore reads its changelog
partition, every API replica reads every partition of `executions`). "The end" is the
consumer's partition-EOF event, not the high watermark: the embedded broker's watermark
is wrong (DESIGN.md, "Running it").
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from confluent_kafka import Consumer, KafkaError, TopicPartition

from ostinato.kafka.config import KafkaSettings, Role
from ostinato.kafka.messages import Received, consume_ready
from ostinato.logging import get_logger

log = get_logger(component="follower")

#: (ostinato's short topic name, partition)
Position = tuple[str, int]


class Follower:
    """Partitions read from their start offsets; `reached_end` once each has been read to
    its end at least once. Use from one thread; `close()` when done."""

    def __init__(self, settings: KafkaSettings, starts: Mapping[Position, int], *,
                 role: Role = "follow", fetch_wait_ms: int | None = None) -> None:
        """`role` gives the fetch wait (ostinato/kafka/config.py); `fetch_wait_ms` sets
        one instead (a user's --kafka-config still wins)."""
        self.settings = settings
        wait: dict[str, Any] = {} if fetch_wait_ms is None else {"fetch.wait.max.ms": fetch_wait_ms}
        self._consumer = Consumer(settings.consumer(None, role, **wait))
        self._at_end = {(settings.topic(topic), partition): False for topic, partition in starts}
        self._consumer.assign([TopicPartition(settings.topic(topic), partition, offset)
                               for (topic, partition), offset in starts.items()])

    @classmethod
    def of_topics(cls, settings: KafkaSettings, topics: Iterable[str],
                  start: Mapping[Position, int] | None = None, *, role: Role = "follow",
                  fetch_wait_ms: int | None = None) -> Follower:
        """Every partition of `topics`, each from its offset in `start` (else 0)."""
        starts: dict[Position, int] = {}
        for topic in topics:
            for partition in partitions_of(settings, topic):
                starts[(topic, partition)] = (start or {}).get((topic, partition), 0)
        return cls(settings, starts, role=role, fetch_wait_ms=fetch_wait_ms)

    @property
    def reached_end(self) -> bool:
        """True once every partition has been read to its end (it stays true)."""
        return all(self._at_end.values())

    def poll(self, max_records: int = 1000, timeout: float = 0.1) -> list[Received]:
        """The records that are there (waiting up to `timeout` s for the first one), in
        order per partition. Errors other than an end are logged and retried."""
        records = []
        for message in consume_ready(self._consumer, max_records, timeout):
            error = message.error()
            if error is None:
                records.append(Received.of(message))
            elif error.code() == KafkaError._PARTITION_EOF:
                self._at_end[(message.topic() or "", message.partition() or 0)] = True
            else:
                log.warning("read error, retrying", topic=message.topic(), error=str(error))
                time.sleep(0.2)
        return records

    def short_topic(self, received: Received) -> str:
        """ostinato's short name of the topic a record came from (`executions`)."""
        return received.topic[len(self.settings.topic_prefix):]

    def close(self) -> None:
        self._consumer.close()


def partitions_of(settings: KafkaSettings, topic: str, timeout: float = 30.0) -> list[int]:
    """The partition numbers of one of ostinato's topics."""
    consumer = Consumer(settings.consumer(None))
    try:
        name = settings.topic(topic)
        return sorted(consumer.list_topics(name, timeout=timeout).topics[name].partitions)
    finally:
        consumer.close()


def approximate_ends(settings: KafkaSettings, topic: str) -> dict[int, int]:
    """An offset at or before the end of each partition of `topic` (the high watermark):
    exact on Kafka, possibly earlier on the embedded broker (DESIGN.md), which only means
    reading a few records more. For readers that want what comes next, not what was."""
    consumer = Consumer(settings.consumer(None))
    try:
        name = settings.topic(topic)
        partitions = consumer.list_topics(name, timeout=30).topics[name].partitions
        return {p: int(consumer.get_watermark_offsets(TopicPartition(name, p), timeout=10)[1])
                for p in sorted(partitions)}
    finally:
        consumer.close()
