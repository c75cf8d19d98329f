"""A consumed record with its position, typed (confluent-kafka's accessors are Optional)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from confluent_kafka import Message


@dataclass(frozen=True)
class Received:
    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes | None

    @classmethod
    def of(cls, message: Message) -> Received:
        key = message.key()
        return cls(
            topic=message.topic() or "",
            partition=message.partition() or 0,
            offset=message.offset() or 0,
            key=key.decode(errors="replace") if isinstance(key, bytes) else key,
            value=message.value(),
        )


def consume_ready(consumer: Any, max_messages: int, timeout: float) -> list[Any]:
    """Wait up to `timeout` for one record, then take what else is already there.

    `Consumer.consume(n, timeout)` waits for n records or the whole timeout; a service on
    the critical path must act on the first record as soon as it arrives.
    """
    first = consumer.poll(timeout)
    if first is None:
        return []
    if max_messages <= 1:
        return [first]
    return [first, *consumer.consume(max_messages - 1, 0)]
