"""The shared Kafka plumbing on the embedded broker: the confirming producer (both faces),
the follower, restore with dead letters, and the checkpoint's order and typed errors."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from confluent_kafka import Consumer

from ostinato.broker.testing import bootstrap_servers_for_tests
from ostinato.kafka.checkpoint import Checkpoint, CommitFailed, ProduceFailed, StoreWriteFailed
from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.dead_letters import DeadLetters
from ostinato.kafka.follower import Follower
from ostinato.kafka.producer import ConfirmingProducer, DeliveryFailed
from ostinato.kafka.restore import read_partition_to_end
from ostinato.kafka.topics import ensure_all_topics
from ostinato.wire import records as rec
from ostinato.wire.codec import default_codec


def own_topics() -> KafkaSettings:
    """Topics of their own on the shared test broker."""
    settings = KafkaSettings(bootstrap_servers=bootstrap_servers_for_tests(), broker_profile="embedded",
                             topic_prefix=f"plumbing-{uuid.uuid4().hex[:8]}.")
    ensure_all_topics(settings)
    return settings


def read_all(settings: KafkaSettings, topic: str) -> list[tuple[int, int, str | None, bytes | None]]:
    follower = Follower.of_topics(settings, [topic])
    out = []
    try:
        while not follower.reached_end:
            out += [(r.partition, r.offset, r.key, r.value) for r in follower.poll()]
    finally:
        follower.close()
    return out


def test_send_and_confirm_returns_the_records_position() -> None:
    settings = own_topics()
    producer = ConfirmingProducer(settings)
    first = producer.send_and_confirm("executions", "e1", b"one", partition=2)
    second = producer.send_and_confirm("executions", "e1", b"two", partition=2)
    assert (first.partition, second.partition) == (2, 2)
    assert second.offset == first.offset + 1
    assert read_all(settings, "executions") == [(2, first.offset, "e1", b"one"),
                                                (2, second.offset, "e1", b"two")]


def test_a_record_over_the_message_size_is_a_delivery_failure_not_a_crash() -> None:
    settings = own_topics()
    producer = ConfirmingProducer(settings, config={"message.max.bytes": 10_000})
    with pytest.raises(DeliveryFailed, match="(?i)too large"):
        producer.send_and_confirm("executions", "e1", b"x" * 20_000)
    # the producer still works for the next record
    assert producer.send_and_confirm("executions", "e1", b"small").offset >= 0


def test_the_async_face_resolves_when_the_broker_has_the_record() -> None:
    settings = own_topics()
    producer = ConfirmingProducer(settings)
    producer.start_polling()
    try:
        deliveries = asyncio.run(_send_three(producer))
    finally:
        producer.close()
    assert [d.offset for d in deliveries] == sorted(d.offset for d in deliveries)
    assert [value for _, _, _, value in read_all(settings, "flows")] == [b"a", b"b", b"c"]


async def _send_three(producer: ConfirmingProducer) -> list:  # type: ignore[type-arg]
    return [await producer.send("flows", "k", value) for value in (b"a", b"b", b"c")]


def test_the_follower_reaches_the_end_of_every_partition_then_reads_what_comes() -> None:
    settings = own_topics()
    producer = ConfirmingProducer(settings)
    for partition in range(settings.partitions):
        producer.send_and_confirm("logs", "k", b"before", partition=partition)
    follower = Follower.of_topics(settings, ["logs"])
    try:
        seen = []
        while not follower.reached_end:
            seen += follower.poll()
        assert len(seen) == settings.partitions
        producer.send_and_confirm("logs", "k", b"after", partition=1)
        later = []
        for _ in range(100):
            later += follower.poll()
            if later:
                break
        assert [(r.partition, r.value) for r in later] == [(1, b"after")]
        assert follower.short_topic(later[0]) == "logs"
    finally:
        follower.close()


def test_restore_dead_letters_a_malformed_record_and_applies_the_rest() -> None:
    settings = own_topics()
    codec = default_codec()
    producer = ConfirmingProducer(settings)
    good = codec.encode("AdmissionState", {"tenantId": None, "namespace": "n", "flowId": "f",
                                           "running": ["e1"], "queued": []})
    producer.send_and_confirm("admission-state", "a", good)
    producer.send_and_confirm("admission-state", "b", b"\x00garbage")
    producer.send_and_confirm("admission-state", "c", good)
    restored: dict[str, list[str]] = {}

    def apply(key: str, value: bytes | None, offset: int) -> None:
        _, record = codec.decode(value, expected="AdmissionState")
        restored[key] = record["running"]

    letters = DeadLetters(producer, codec, reader="test")
    count = read_partition_to_end(settings, "admission-state", 0, 0, apply, dead_letters=letters)

    assert count == 3 and restored == {"a": ["e1"], "c": ["e1"]}
    [(_, _, key, value)] = read_all(settings, "dead-letters")
    letter = rec.dead_letter_from_record(codec.decode(value, expected="DeadLetter")[1])
    assert (key, letter.topic, letter.partition, letter.offset, letter.value) == (
        "b", settings.topic("admission-state"), 0, 1, b"\x00garbage")
    assert letter.reason.startswith("test: not restored")


def test_the_checkpoint_writes_effects_then_changelog_then_store_then_offsets() -> None:
    settings = own_topics()
    producer = ConfirmingProducer(settings)
    producer.send_and_confirm("triggers", "k", b"input", partition=0)
    group = settings.group(f"checkpoint-{uuid.uuid4().hex[:6]}")
    consumer = Consumer(settings.consumer(group))
    consumer.subscribe([settings.topic("triggers")])
    steps: list[str] = []
    try:
        checkpoint = Checkpoint(producer, settings, changelog="scheduler-state", consumer=consumer,
                                input_topic="triggers")
        checkpoint.outbox.send("scheduler-state", "s", b"state")
        checkpoint.outbox.send("executor", "e", b"effect")
        checkpoint.consumed(0, 0)
        # the effect is on its topic before the changelog record is even produced
        assert [v for *_, v in read_all(settings, "scheduler-state")] == []

        def store(offsets: dict[int, int]) -> None:
            steps.append(f"store {offsets}")
            assert [v for *_, v in read_all(settings, "executor")] == [b"effect"]
            assert [v for *_, v in read_all(settings, "scheduler-state")] == [b"state"]
            committed = consumer.committed([_tp(settings, "triggers", 0)], timeout=10)
            assert committed[0].offset < 0  # step 4 not done yet

        assert checkpoint.commit(store) == {0: 0}
        assert steps == ["store {0: 0}"]
        assert consumer.committed([_tp(settings, "triggers", 0)], timeout=10)[0].offset == 1
    finally:
        consumer.close()


def test_each_checkpoint_step_fails_with_its_own_error() -> None:
    settings = own_topics()
    producer = ConfirmingProducer(settings, config={"message.max.bytes": 10_000})
    too_big = Checkpoint(producer, settings)
    too_big.outbox.send("executions", "e", b"x" * 20_000)
    with pytest.raises(ProduceFailed):
        too_big.commit()

    def broken_store(_: dict[int, int]) -> None:
        raise OSError("disk full")

    store_fails = Checkpoint(producer, settings, changelog="scheduler-state")
    store_fails.outbox.send("scheduler-state", "s", b"state")
    with pytest.raises(StoreWriteFailed, match="disk full"):
        store_fails.commit(broken_store)

    consumer = Consumer(settings.consumer(None))  # no group: a commit cannot succeed
    consumer.close()
    commit_fails = Checkpoint(producer, settings, consumer=consumer, input_topic="triggers")
    commit_fails.consumed(0, 0)
    with pytest.raises(CommitFailed):
        commit_fails.commit()


def _tp(settings: KafkaSettings, topic: str, partition: int):  # type: ignore[no-untyped-def]
    from confluent_kafka import TopicPartition

    return TopicPartition(settings.topic(topic), partition)
