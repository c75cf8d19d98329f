"""The loop of a consumer that turns records into records: read a batch, handle each,
confirm what was produced, then commit — so a crash replays, never skips."""

from __future__ import annotations

import threading
from typing import Any, Callable

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.messages import Received, consume_ready
from ostinato.kafka.outbox import Outbox


def consume_and_produce(
    consumer: Consumer, producer: Producer, kafka: KafkaSettings, topic: str,
    stop: threading.Event, handle: Callable[[Received, Outbox], None], *, log: Any,
    before_flush: Callable[[Outbox], None] | None = None, batch: int = 200,
    state_topic: str | None = None,
) -> None:
    """Run until `stop`: `handle` each record of `topic` (ostinato's short name), let
    `before_flush` add what the batch as a whole produces, flush, then commit. Records for
    `state_topic` (the handler's own state) are written after all the others (Outbox)."""
    name = kafka.topic(topic)
    try:
        while not stop.is_set():
            messages = consume_ready(consumer, batch, 0.05)
            if not messages:
                continue
            outbox = Outbox(producer, kafka, track=state_topic)
            last: dict[int, int] = {}
            for message in messages:
                error = message.error()
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:
                        log.warning("consume error", topic=name, error=str(error))
                    continue
                received = Received.of(message)
                handle(received, outbox)
                last[received.partition] = received.offset
            if before_flush is not None:
                before_flush(outbox)
            outbox.flush()
            if last:
                consumer.commit(offsets=[TopicPartition(name, p, o + 1) for p, o in last.items()],
                                asynchronous=False)
    finally:
        consumer.close()
