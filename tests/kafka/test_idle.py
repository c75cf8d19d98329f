"""IdleThrottle on a real broker: a hot consumer goes quiet when idle (its partitions paused
between probes), fresh or after work, and a record written while it is quiet is read within
a probe interval, not after the ~0.6-0.7 s stall a plain resume costs."""

from __future__ import annotations

import time
import uuid

from confluent_kafka import Consumer

from ostinato.broker.testing import bootstrap_servers_for_tests
from ostinato.kafka.config import HOT_FETCH_WAIT_MS, KafkaSettings
from ostinato.kafka.idle import IdleThrottle
from ostinato.kafka.producer import ConfirmingProducer
from ostinato.kafka.topics import ensure_all_topics


def read_one(throttle: IdleThrottle, deadline_s: float) -> float:
    """Seconds until `throttle` yields a record; AssertionError past the deadline."""
    started = time.monotonic()
    while time.monotonic() - started < deadline_s:
        if [m for m in throttle.consume(10, 0.02) if m.error() is None]:
            return time.monotonic() - started
    raise AssertionError(f"no record within {deadline_s} s")


def hot_consumer(name: str) -> tuple[Consumer, ConfirmingProducer, IdleThrottle]:
    """An executor-like consumer of fresh topics, its throttle, and a producer to them."""
    settings = KafkaSettings(bootstrap_servers=bootstrap_servers_for_tests(), session_timeout_ms=3000,
                             broker_profile="embedded",
                             topic_prefix=f"{name}-{uuid.uuid4().hex[:8]}.")
    ensure_all_topics(settings)
    consumer = Consumer(settings.consumer(settings.group("idle"), **{
        "enable.partition.eof": False, "fetch.wait.max.ms": HOT_FETCH_WAIT_MS}))
    consumer.subscribe([settings.topic("executor")])
    return consumer, ConfirmingProducer(settings), IdleThrottle(consumer, idle_after=0.3, probe_every=0.1)


def test_a_quiet_consumer_reads_a_new_record_within_a_probe_interval() -> None:
    consumer, producer, throttle = hot_consumer("idle")
    try:
        deadline = time.monotonic() + 30
        while not consumer.assignment():
            assert time.monotonic() < deadline, "no assignment"
            throttle.consume(10, 0.05)
        producer.confirm([producer.produce("executor", f"warm{i}", b"x") for i in range(20)])
        deadline = time.monotonic() + 10
        while not throttle.quiet:  # quiet once every partition was read, then idle
            assert time.monotonic() < deadline, "the idle consumer never went quiet"
            throttle.consume(10, 0.05)
        for attempt in range(3):
            producer.confirm([producer.produce("executor", f"k{attempt}", b"x")])
            assert throttle.quiet
            seconds = read_one(throttle, 5)
            assert seconds < 0.45, f"a record written while quiet took {seconds:.2f} s"
            assert not throttle.quiet
            while not throttle.quiet:  # idle again before the next round
                throttle.consume(10, 0.05)
    finally:
        consumer.close()
        producer.close(5)


def test_a_fresh_consumer_goes_quiet_and_still_reads_without_the_stall() -> None:
    """Never read since its assignment (a fresh stack): it goes quiet all the same, and a
    record is read within a probe or two, not after the ~0.6 s stall of such a partition."""
    consumer, producer, throttle = hot_consumer("fresh")
    try:
        deadline = time.monotonic() + 30
        while not consumer.assignment() or not throttle.quiet:
            assert time.monotonic() < deadline, "the fresh consumer never went quiet"
            throttle.consume(10, 0.05)
        producer.confirm([producer.produce("executor", "first", b"x")])
        seconds = read_one(throttle, 5)
        assert seconds < 0.45, f"the first record took {seconds:.2f} s"
    finally:
        consumer.close()
        producer.close(5)
