"""Records a service produces while it handles a batch, sent and confirmed together: the
produce stage of a `Checkpoint` (ostinato/kafka/checkpoint.py)."""

from __future__ import annotations

from confluent_kafka import Producer

from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.producer import ConfirmingProducer, Delivery, DeliveryFailed

__all__ = ["DeliveryFailed", "Outbox"]


class Outbox:
    """Produce now, confirm all at `flush`.

    The tracked topic is a service's changelog: its records are held back and written only
    once every other record of the batch is confirmed, and `flush` returns their offsets.
    A state on the changelog therefore never runs ahead of its effects (a task sent to the
    workers, a result, a notice to a parent). A process killed between the two leaves the
    changelog behind: its events are replayed and their effects sent again, which receivers
    drop as duplicates; the other order would lose the effects for good.
    """

    def __init__(self, producer: Producer | ConfirmingProducer, settings: KafkaSettings, *,
                 track: str | None = None) -> None:
        self._producer = (producer if isinstance(producer, ConfirmingProducer)
                          else ConfirmingProducer(settings, producer=producer))
        self._tracked = track
        self._held: list[tuple[str, str | None, bytes | None, int | None]] = []
        self._effects: list[Delivery] = []
        self._sent = 0

    def send(self, topic: str, key: str | None, value: bytes | None, *, partition: int | None = None) -> None:
        """Queue one record for `topic` (ostinato's short name, e.g. `executions`)."""
        self._sent += 1
        if topic == self._tracked:
            self._held.append((topic, key, value, partition))
        else:
            self._effects.append(self._producer.produce(topic, key, value, partition=partition))

    def __len__(self) -> int:
        """How many records were sent since the outbox was made."""
        return self._sent

    def flush(self, timeout: float = 30.0) -> dict[int, int]:
        """Confirm every other record, then write and confirm the changelog's; returns the
        changelog's last offset per partition. Raises DeliveryFailed."""
        self._confirm(self._effects, timeout)
        self._effects = []
        held, self._held = self._held, []
        changelog = [self._producer.produce(topic, key, value, partition=partition)
                     for topic, key, value, partition in held]
        self._confirm(changelog, timeout)
        offsets: dict[int, int] = {}
        for delivery in changelog:
            if delivery.offset > offsets.get(delivery.partition, -1):
                offsets[delivery.partition] = delivery.offset
        return offsets

    def _confirm(self, deliveries: list[Delivery], timeout: float) -> None:
        if not deliveries:
            return
        # one flush serves every report at once (cheaper than waiting on each in turn)
        self._producer.confirm_all(timeout)
        self._producer.confirm(deliveries, timeout)
