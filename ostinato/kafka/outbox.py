"""Records a service produces while it handles a batch, sent and confirmed together."""

from __future__ import annotations

from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from ostinato.kafka.config import KafkaSettings


class DeliveryFailed(RuntimeError):
    """A record was not written: the batch must not be committed."""


class Outbox:
    """Produce now, confirm all at `flush`; remembers the offsets of one tracked topic."""

    def __init__(self, producer: Producer, settings: KafkaSettings, *, track: str | None = None) -> None:
        self._producer = producer
        self._settings = settings
        self._tracked = settings.topic(track) if track else None
        self._errors: list[str] = []
        self.offsets: dict[int, int] = {}

    def send(self, topic: str, key: str | None, value: bytes | None, *, partition: int | None = None) -> None:
        """Queue one record for `topic` (ostinato's short name, e.g. `executions`)."""
        kwargs: dict[str, Any] = {"key": key.encode() if key is not None else None, "value": value,
                                  "on_delivery": self._delivered}
        if partition is not None:
            kwargs["partition"] = partition
        while True:
            try:
                self._producer.produce(self._settings.topic(topic), **kwargs)
                return
            except BufferError:  # the local queue is full: let deliveries drain
                self._producer.poll(0.05)

    def _delivered(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            self._errors.append(f"{message.topic()}: {error}")
            return
        if message.topic() == self._tracked:
            partition, offset = message.partition() or 0, message.offset() or 0
            if offset > self.offsets.get(partition, -1):
                self.offsets[partition] = offset

    def flush(self, timeout: float = 30.0) -> dict[int, int]:
        """Wait for every queued record; the tracked topic's last offset per partition."""
        remaining = self._producer.flush(timeout)
        if remaining:
            raise DeliveryFailed(f"{remaining} records still undelivered after {timeout} s")
        if self._errors:
            errors, self._errors = self._errors, []
            raise DeliveryFailed("; ".join(errors[:5]))
        offsets, self.offsets = self.offsets, {}
        return offsets
