"""The loop of a consumer that turns records into records: read a batch, handle each,
then make the batch durable through a `Checkpoint` — so a crash replays, never skips.

A record whose handling raises is sent to `dead-letters` with the reason (in the same
checkpoint, so the letter is confirmed before the offset is committed) and the loop goes
on with the rest: one record never stops a service (DESIGN.md, invariant 9).
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from confluent_kafka import Consumer, KafkaError, Producer

from ostinato.kafka.checkpoint import Checkpoint
from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.dead_letters import count_dead_letter, reason_of
from ostinato.kafka.messages import Received, consume_ready
from ostinato.kafka.outbox import Outbox
from ostinato.kafka.producer import ConfirmingProducer
from ostinato.wire.codec import Codec


def consume_and_produce(
    consumer: Consumer, producer: Producer | ConfirmingProducer, kafka: KafkaSettings, topic: str,
    stop: threading.Event, handle: Callable[[Received, Outbox], None], *, log: Any,
    codec: Codec, before_flush: Callable[[Outbox], None] | None = None, batch: int = 200,
    state_topic: str | None = None,
) -> None:
    """Run until `stop`: `handle` each record of `topic` (ostinato's short name), let
    `before_flush` add what the batch as a whole produces, then commit the checkpoint.
    Records for `state_topic` (the handler's own state) are written after all the others."""
    try:
        while not stop.is_set():
            messages = consume_ready(consumer, batch, 0.05)
            if not messages:
                continue
            checkpoint = Checkpoint(producer, kafka, changelog=state_topic, consumer=consumer,
                                    input_topic=topic)
            for message in messages:
                error = message.error()
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:
                        log.warning("consume error", topic=kafka.topic(topic), error=str(error))
                    continue
                received = Received.of(message)
                _handle_one(received, checkpoint.outbox, handle, codec, log)
                checkpoint.consumed(received.partition, received.offset)
            if before_flush is not None:
                before_flush(checkpoint.outbox)
            checkpoint.commit()
    finally:
        consumer.close()


def _handle_one(received: Received, outbox: Outbox, handle: Callable[[Received, Outbox], None],
                codec: Codec, log: Any) -> None:
    """`handle` one record; if it raises, dead-letter the record and carry on."""
    try:
        handle(received, outbox)
    except Exception as error:  # any record, any bug: that record only
        reason = reason_of(error)
        log.exception("record not handled, sent to the dead letters", topic=received.topic,
                      partition=received.partition, offset=received.offset, reason=reason)
        outbox.send("dead-letters", received.key, received.dead_letter(codec, reason))
        count_dead_letter(received.topic)
