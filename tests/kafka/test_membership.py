"""A standalone service takes every partition of its topic at once, without a group join,
and keeps its place through the group's committed offsets (membership.py)."""

from __future__ import annotations

import time
import uuid

from ostinato.broker.testing import bootstrap_servers_for_tests
from ostinato.kafka import membership
from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.producer import ConfirmingProducer
from ostinato.kafka.topics import ensure_all_topics
from ostinato.metrics.lag import GroupConsumer


def consumer_of(settings: KafkaSettings) -> GroupConsumer:
    return GroupConsumer(settings.consumer(settings.group("standalone"), **{
        "enable.partition.eof": False}))


def read(consumer: GroupConsumer, count: int) -> list[str]:
    keys: list[str] = []
    deadline = time.monotonic() + 20
    while len(keys) < count:
        assert time.monotonic() < deadline, f"read {len(keys)} of {count} records"
        message = consumer.poll(0.1)
        if message is not None and not message.error():
            keys.append(message.key().decode())
    return keys


def test_a_standalone_consumer_takes_every_partition_and_resumes_from_its_commits() -> None:
    settings = KafkaSettings(bootstrap_servers=bootstrap_servers_for_tests(),
                             broker_profile="embedded", standalone=True,
                             topic_prefix=f"alone-{uuid.uuid4().hex[:8]}.")
    ensure_all_topics(settings)
    producer = ConfirmingProducer(settings)
    producer.confirm([producer.produce("executor", f"a{i}", b"x") for i in range(8)])
    assigned: list[int] = []
    first = consumer_of(settings)
    membership.join(first, settings, "executor",
                    on_assign=lambda c, parts: assigned.extend(tp.partition for tp in parts),
                    on_revoke=lambda c, parts: None)
    # assigned before any poll: nothing waits for a group join
    assert sorted(assigned) == list(range(settings.partitions))
    assert sorted(tp.partition for tp in first.assignment()) == assigned
    assert sorted(read(first, 8)) == sorted(f"a{i}" for i in range(8))
    first.commit(asynchronous=False)
    first.close()
    producer.confirm([producer.produce("executor", f"b{i}", b"x") for i in range(3)])
    second = consumer_of(settings)
    membership.join(second, settings, "executor", on_assign=lambda c, p: None,
                    on_revoke=lambda c, p: None)
    try:
        assert sorted(read(second, 3)) == ["b0", "b1", "b2"]  # not the committed ones again
        assert second.poll(0.5) is None
    finally:
        second.close()
        producer.close(5)


def test_a_member_waits_for_its_group_to_assign_it() -> None:
    settings = KafkaSettings(bootstrap_servers=bootstrap_servers_for_tests(),
                             broker_profile="embedded",
                             topic_prefix=f"member-{uuid.uuid4().hex[:8]}.")
    ensure_all_topics(settings)
    consumer = consumer_of(settings)
    try:
        membership.join(consumer, settings, "executor", on_assign=lambda c, p: None,
                        on_revoke=lambda c, p: None)
        assert consumer.assignment() == []  # the group decides, at a later poll
    finally:
        consumer.close()
