"""The outbox writes a changelog only after every other record of the batch is confirmed,
on the embedded broker: a state on the changelog never runs ahead of its effects."""

from __future__ import annotations

import uuid
from typing import Any

from confluent_kafka import Producer

from ostinato.broker.testing import bootstrap_servers_for_tests
from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.outbox import Outbox
from ostinato.kafka.restore import read_partition_to_end
from ostinato.kafka.topics import ensure_all_topics


class RecordingProducer(Producer):  # type: ignore[misc]
    """A real producer that notes, in order, each record it is given and each delivery."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.journal: list[tuple[str, str]] = []

    def produce(self, topic: str, *args: Any, **kwargs: Any) -> None:
        self.journal.append(("produce", topic))
        on_delivery = kwargs.pop("on_delivery")

        def delivered(error: Any, message: Any) -> None:
            self.journal.append(("delivered", message.topic()))
            on_delivery(error, message)

        super().produce(topic, *args, **{**kwargs, "on_delivery": delivered})


def own_topics() -> KafkaSettings:
    """Topics of their own on the shared test broker."""
    settings = KafkaSettings(bootstrap_servers=bootstrap_servers_for_tests(), broker_profile="embedded",
                             topic_prefix=f"outbox-{uuid.uuid4().hex[:8]}.")
    ensure_all_topics(settings)
    return settings


def test_changelog_records_are_written_after_every_other_record_is_confirmed() -> None:
    settings = own_topics()
    producer = RecordingProducer(settings.producer())
    outbox = Outbox(producer, settings, track="executor-changelog")
    outbox.send("executor-changelog", "e1", b"state-1", partition=1)
    outbox.send("worker-tasks", "e1", b"task")
    outbox.send("executions", "e1", b"update")
    outbox.send("executor-changelog", "e1/run", b"state-2", partition=1)
    assert [topic for step, topic in producer.journal if step == "produce"] == [
        settings.topic("worker-tasks"), settings.topic("executions")]
    assert len(outbox) == 4

    offsets = outbox.flush()

    changelog = settings.topic("executor-changelog")
    first_changelog_produce = producer.journal.index(("produce", changelog))
    effects_delivered = [i for i, (step, topic) in enumerate(producer.journal)
                         if step == "delivered" and topic != changelog]
    assert len(effects_delivered) == 2
    assert max(effects_delivered) < first_changelog_produce, producer.journal
    # the offsets returned are those of the changelog records, in the partition given
    assert set(offsets) == {1}
    read: list[tuple[str, bytes | None, int]] = []
    read_partition_to_end(settings, "executor-changelog", 1, 0,
                          lambda key, value, offset: read.append((key, value, offset)))
    assert [(key, value) for key, value, _ in read] == [("e1", b"state-1"), ("e1/run", b"state-2")]
    assert offsets[1] == read[-1][2]


def test_an_outbox_without_a_changelog_confirms_everything_in_one_flush() -> None:
    settings = own_topics()
    producer = RecordingProducer(settings.producer())
    outbox = Outbox(producer, settings)
    outbox.send("executions", "e1", b"update")
    assert outbox.flush() == {}
    assert producer.journal == [("produce", settings.topic("executions")),
                                ("delivered", settings.topic("executions"))]
