"""The one checkpoint of a consume-produce loop: what a batch produced, what it changed in
a local store, and which input offsets it consumed, made durable in this order:

1. produce the effects (every record but the changelog's) and confirm them;
2. produce the changelog records last and confirm them (their offsets are kept);
3. write the store batch, with the changelog offsets of step 2;
4. commit the input offsets.

A crash between two steps replays the batch: its effects are sent again (receivers drop
duplicates), never lost; the store never holds a state the changelog does not have; an
input is committed only once everything it caused is durable. Each step fails with its
own error (`ProduceFailed`, `StoreWriteFailed`, `CommitFailed`, all `CheckpointError`),
after which nothing of the later steps has been done.
"""

from __future__ import annotations

from typing import Callable

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.outbox import Outbox
from ostinato.kafka.producer import ConfirmingProducer, DeliveryFailed

__all__ = ["Checkpoint", "CheckpointError", "CommitFailed", "ProduceFailed", "StoreWriteFailed"]

#: step 3: write the store's batch with the changelog's last offset per partition
StoreWrite = Callable[[dict[int, int]], None]


class CheckpointError(RuntimeError):
    """A batch could not be made durable; its inputs are not committed."""


class StoreWriteFailed(CheckpointError):
    """Step 3: the local store refused the batch."""


class CommitFailed(CheckpointError):
    """Step 4: the input offsets were not committed (the batch will be read again)."""


class ProduceFailed(CheckpointError):
    """Steps 1 or 2: a record of the batch was not confirmed (the cause is the producer's
    `DeliveryFailed`)."""


class Checkpoint:
    """One batch: `outbox` takes its records, `consumed` its inputs, `commit` does the four
    steps (the store write is given to `commit`, so any store fits)."""

    def __init__(self, producer: Producer | ConfirmingProducer, settings: KafkaSettings, *,
                 changelog: str | None = None, consumer: Consumer | None = None,
                 input_topic: str | None = None, asynchronous_commit: bool = False) -> None:
        self.outbox = Outbox(producer, settings, track=changelog)
        self._settings = settings
        self._consumer = consumer
        self._input = settings.topic(input_topic) if input_topic else None
        self._asynchronous = asynchronous_commit
        #: partition -> last input offset handled
        self.inputs: dict[int, int] = {}
        #: the changelog's last offset per partition, once step 2 is done
        self.changelog_offsets: dict[int, int] = {}

    def consumed(self, partition: int, offset: int) -> None:
        """The input at `offset` is handled: commit past it in step 4."""
        if offset > self.inputs.get(partition, -1):
            self.inputs[partition] = offset

    def __bool__(self) -> bool:
        """True when there is something to commit."""
        return bool(self.inputs) or len(self.outbox) > 0

    def commit(self, store: StoreWrite | None = None, *, timeout: float = 30.0) -> dict[int, int]:
        """Steps 1 to 4; returns the changelog offsets (step 2)."""
        try:
            self.changelog_offsets = self.outbox.flush(timeout)  # steps 1 and 2
        except DeliveryFailed as error:
            raise ProduceFailed(str(error)) from error
        if store is not None:
            try:
                store(self.changelog_offsets)
            except Exception as error:  # RocksDB's errors have no common type
                raise StoreWriteFailed(f"the store batch was not written: {error!r}") from error
        self._commit_inputs()
        return self.changelog_offsets

    def _commit_inputs(self) -> None:
        if not self.inputs or self._consumer is None or self._input is None:
            return
        offsets = [TopicPartition(self._input, p, o + 1) for p, o in self.inputs.items()]
        try:
            if self._asynchronous:
                self._consumer.commit(offsets=offsets, asynchronous=True)
            else:
                self._consumer.commit(offsets=offsets, asynchronous=False)
        except (KafkaException, RuntimeError) as error:  # RuntimeError: the consumer is closed
            raise CommitFailed(f"input offsets not committed: {error}") from error
