"""Reading one partition from an offset to its end, for restoring a store.

The end is the consumer's partition-EOF event, not the high watermark: the embedded
broker's watermark is wrong (DESIGN.md, "Running it").
"""

from __future__ import annotations

import time
from typing import Callable

from confluent_kafka import Consumer, KafkaError, TopicPartition

from ostinato.kafka.config import KafkaSettings


class RestoreTimeout(RuntimeError):
    pass


def read_partition_to_end(
    settings: KafkaSettings,
    topic: str,
    partition: int,
    start: int,
    apply: Callable[[str, bytes | None, int], None],
    *,
    timeout: float = 120.0,
) -> int:
    """Call `apply(key, value, offset)` for every record from `start` to the end; returns
    how many were read. Raises RestoreTimeout if the end is not reached in time."""
    consumer = Consumer(settings.consumer(None, **{"enable.partition.eof": True}))
    consumer.assign([TopicPartition(settings.topic(topic), partition, start)])
    deadline = time.monotonic() + timeout
    count = 0
    try:
        while time.monotonic() < deadline:
            for message in consumer.consume(1000, 0.1):
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        return count
                    raise RuntimeError(f"reading {topic}[{partition}]: {error}")
                key = message.key()
                apply(key.decode() if key is not None else "", message.value(), message.offset() or 0)
                count += 1
        raise RestoreTimeout(f"{topic}[{partition}] not read to its end within {timeout} s")
    finally:
        consumer.close()
