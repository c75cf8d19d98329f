"""A consumed record with its position, typed (confluent-kafka's accessors are Optional)."""

from __future__ import annotations

from dataclasses import dataclass

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
