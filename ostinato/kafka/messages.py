"""A consumed record with its position, typed (confluent-kafka's accessors are Optional)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from confluent_kafka import Message

from ostinato.wire.codec import Codec
from ostinato.wire.records import DeadLetter, dead_letter_record


@dataclass(frozen=True)
class Received:
    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes | None
    #: the record's headers (a `traceparent` ...), as confluent-kafka gives them
    headers: tuple[tuple[str, bytes | str | None], ...] = ()

    def dead_letter(self, codec: Codec, reason: str) -> bytes:
        """The `DeadLetter` record of this record, with the reason it was not processed."""
        letter = DeadLetter(topic=self.topic, partition=self.partition, offset=self.offset,
                            key=self.key, value=self.value or b"", reason=reason,
                            at=datetime.now(timezone.utc))
        return codec.encode("DeadLetter", dead_letter_record(letter))

    @classmethod
    def of(cls, message: Message) -> Received:
        key = message.key()
        return cls(
            topic=message.topic() or "",
            partition=message.partition() or 0,
            offset=message.offset() or 0,
            key=key.decode(errors="replace") if isinstance(key, bytes) else key,
            value=message.value(),
            headers=_header_pairs(message.headers()),
        )


def _header_pairs(headers: Any) -> tuple[tuple[str, bytes | str | None], ...]:
    """confluent-kafka gives a list of pairs (or None); a dict is accepted too."""
    if not headers:
        return ()
    return tuple(headers.items() if isinstance(headers, dict) else headers)


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
