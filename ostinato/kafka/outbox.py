"""Records a service produces while it handles a batch, sent and confirmed together."""

from __future__ import annotations

from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from ostinato.kafka.config import KafkaSettings


class DeliveryFailed(RuntimeError):
    """A record was not written: the batch must not be committed."""


class Outbox:
    """Produce now, confirm all at `flush`.

    The tracked topic is a service's changelog: its records are held back and written only
    once every other record of the batch is confirmed, and `flush` returns their offsets.
    A state on the changelog therefore never runs ahead of its effects (a task sent to the
    workers, a result, a notice to a parent). A process killed between the two leaves the
    changelog behind: its events are replayed and their effects sent again, which receivers
    drop as duplicates; the other order would lose the effects for good.
    """

    def __init__(self, producer: Producer, settings: KafkaSettings, *, track: str | None = None) -> None:
        self._producer = producer
        self._settings = settings
        self._tracked = settings.topic(track) if track else None
        self._held: list[dict[str, Any]] = []
        self._errors: list[str] = []
        self._sent = 0
        self.offsets: dict[int, int] = {}

    def send(self, topic: str, key: str | None, value: bytes | None, *, partition: int | None = None) -> None:
        """Queue one record for `topic` (ostinato's short name, e.g. `executions`)."""
        record: dict[str, Any] = {"topic": self._settings.topic(topic),
                                  "key": key.encode() if key is not None else None, "value": value,
                                  "on_delivery": self._delivered}
        if partition is not None:
            record["partition"] = partition
        self._sent += 1
        if record["topic"] == self._tracked:
            self._held.append(record)
        else:
            self._produce(record)

    def __len__(self) -> int:
        """How many records were sent since the outbox was made."""
        return self._sent

    def _produce(self, record: dict[str, Any]) -> None:
        while True:
            try:
                self._producer.produce(**record)
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
        """Confirm every other record, then write and confirm the changelog's; returns the
        changelog's last offset per partition."""
        self._confirm(timeout)
        if self._held:
            held, self._held = self._held, []
            for record in held:
                self._produce(record)
            self._confirm(timeout)
        offsets, self.offsets = self.offsets, {}
        return offsets

    def _confirm(self, timeout: float) -> None:
        remaining = self._producer.flush(timeout)
        if remaining:
            raise DeliveryFailed(f"{remaining} records still undelivered after {timeout} s")
        if self._errors:
            errors, self._errors = self._errors, []
            raise DeliveryFailed("; ".join(errors[:5]))
