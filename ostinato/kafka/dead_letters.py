"""Where a reader sends the records it cannot read: the `dead-letters` topic, with the
topic, partition, offset and reason (DESIGN.md, invariants 6 and 9).

Readers in a consumer group dead-letter through their batch's outbox (the letter is then
confirmed before the offset is committed: `ostinato.kafka.loop`). Readers outside a group
(a restore, the flow table, the API view) use `DeadLetters.send`, confirmed at once.
Records that many processes read whole (the `flows` topic in every service, `executions`
in every API replica) are dead-lettered by each of them: duplicates of a dead letter are
accepted (same topic, partition and offset; the reason names the reader), silence is not.

Every letter is counted in `ostinato_dead_letters_total{topic}` (the topic it was read from)
of the process that wrote it: a service hands its counter to `count_dead_letters_in` once
at start, and each way of writing a letter calls `count_dead_letter`.
"""

from __future__ import annotations

from typing import Any

from ostinato.kafka.messages import Received
from ostinato.kafka.producer import ConfirmingProducer, DeliveryFailed
from ostinato.logging import get_logger
from ostinato.wire.codec import Codec, MalformedRecord

log = get_logger(component="dead-letters")

#: what applying one record may raise when the record, not the reader, is at fault: it
#: does not decode (MalformedRecord), or its fields do not make a valid value
UNREADABLE: tuple[type[Exception], ...] = (MalformedRecord, ValueError, KeyError, TypeError)


#: the process's `StandardMetrics.dead_letters_total` (None: letters are not counted)
_process_counter: Any | None = None


def count_dead_letters_in(counter: Any | None) -> None:
    """Count every dead letter this process writes from now on in `counter` (a Prometheus
    counter labelled by `topic`); None stops counting. Called once by a service at start."""
    global _process_counter
    _process_counter = counter


def count_dead_letter(topic: str, counter: Any | None = None) -> None:
    """Count one letter for a record read from `topic` (its full name), in `counter` or
    else the process's counter, if any."""
    target = counter if counter is not None else _process_counter
    if target is not None:
        target.labels(topic=topic).inc()


def reason_of(error: BaseException) -> str:
    """A dead letter's reason for an error."""
    return error.reason if isinstance(error, MalformedRecord) else f"{type(error).__name__}: {error}"


class DeadLetters:
    """Dead-letters for one reader (`reader` names it in each letter's reason)."""

    def __init__(self, producer: ConfirmingProducer, codec: Codec, *, reader: str,
                 counter: Any | None = None) -> None:
        self._producer = producer
        self._codec = codec
        self.reader = reader
        #: where letters are counted: the process's counter (`count_dead_letters_in`) unless
        #: one is given
        self._counter = counter
        self.sent = 0

    def send(self, received: Received, reason: str) -> None:
        """Write the letter and wait for it; a letter that cannot be written is logged (the
        reader goes on either way: a reader outside a group has nothing to hold back)."""
        log.error("record sent to the dead letters", reader=self.reader, topic=received.topic,
                  partition=received.partition, offset=received.offset, reason=reason)
        letter = received.dead_letter(self._codec, f"{self.reader}: {reason}")
        try:
            self._producer.send_and_confirm("dead-letters", received.key, letter)
        except DeliveryFailed as error:
            log.error("the dead letter could not be written", reader=self.reader, error=str(error))
            return
        self.sent += 1
        count_dead_letter(received.topic, self._counter)

    def decode(self, received: Received, expected: str | None = None) -> tuple[str, dict[str, Any]] | None:
        """The record decoded, or None after dead-lettering it when it does not decode."""
        if received.value is None:
            return None
        try:
            return self._codec.decode(received.value, expected=expected)
        except MalformedRecord as error:
            self.send(received, error.reason)
            return None
