"""StuckReader on a real broker: records past a hot consumer's position that its own
fetches do not return (here: its partition is paused) are read through a consumer of its
own with a longer wait, and the hot consumer is sought past them."""

from __future__ import annotations

import uuid

from confluent_kafka import Consumer, TopicPartition

from ostinato.broker.testing import bootstrap_servers_for_tests
from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.producer import ConfirmingProducer
from ostinato.kafka.rescue import StuckReader
from ostinato.kafka.topics import ensure_all_topics


def test_records_the_consumer_cannot_fetch_are_read_and_it_is_moved_past_them() -> None:
    settings = KafkaSettings(bootstrap_servers=bootstrap_servers_for_tests(), broker_profile="embedded",
                             topic_prefix=f"rescue-{uuid.uuid4().hex[:8]}.")
    ensure_all_topics(settings)
    producer = ConfirmingProducer(settings)
    deliveries = [producer.produce("executor", f"k{i}", b"x", partition=1) for i in range(5)]
    producer.confirm(deliveries)
    topic = settings.topic("executor")
    stuck = Consumer(settings.consumer(settings.group("rescue"), "hot", **{
        "enable.partition.eof": True}))
    stuck.assign([TopicPartition(topic, 1, 5)])
    while not any(m.error() is not None for m in stuck.consume(10, 0.2)):
        pass  # at its end: the fetch responses told it where the partition ends
    stuck.pause([TopicPartition(topic, 1)])  # from now on its own fetches bring nothing
    stuck.seek(TopicPartition(topic, 1, 2))
    reader = StuckReader(stuck, lambda: Consumer(settings.consumer(None, "follow")))
    try:
        assert reader.read({(topic, 1): 5}, set(), 100) == []  # nothing past the end
        reader._next_check = 0.0  # noqa: SLF001 - the next check at once
        assert reader.read({(topic, 1): 2}, {1}, 100) == []  # held by the caller: left alone
        reader._next_check = 0.0  # noqa: SLF001
        rescued = reader.read({(topic, 1): 2}, set(), 100)
        assert [m.offset() for m in rescued] == [2, 3, 4]
        assert [m.key() for m in rescued] == [b"k2", b"k3", b"k4"]
        producer.confirm([producer.produce("executor", "k5", b"x", partition=1)])
        stuck.resume([TopicPartition(topic, 1)])
        after: list[int] = []
        for _ in range(50):
            after += [m.offset() for m in stuck.consume(10, 0.1) if m.error() is None]
            if after:
                break
        assert after == [5]  # sought past what was rescued: nothing read twice
    finally:
        reader.close()
        stuck.close()
        producer.close(5)
