"""`DeadLetter`: a record a service could not process, as `dead-letters` carries it.

The type is the bus's own (a topic, a partition, an offset), so it lives with its record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ostinato.wire.records.common import instant


@dataclass(frozen=True)
class DeadLetter:
    """A record a service could not process, with where it came from and why."""

    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes | None
    reason: str
    at: datetime


def dead_letter_record(letter: DeadLetter) -> dict[str, Any]:
    """The `DeadLetter` record of a dead letter."""
    return {
        "topic": letter.topic,
        "partition": letter.partition,
        "offset": letter.offset,
        "key": letter.key,
        "value": letter.value,
        "reason": letter.reason,
        "at": instant(letter.at),
    }


def dead_letter_from_record(record: dict[str, Any]) -> DeadLetter:
    """The dead letter of a `DeadLetter` record."""
    return DeadLetter(
        topic=record["topic"], partition=record["partition"], offset=record["offset"],
        key=record["key"], value=record["value"], reason=record["reason"], at=record["at"],
    )
