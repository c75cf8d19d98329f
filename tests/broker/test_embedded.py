"""The embedded broker against the real Tansu binary: lifecycle, errors, round trip."""

from __future__ import annotations

import os
import signal
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from ostinato.broker import BrokerStartError, EmbeddedBroker, TopicSpec, ensure_topics, free_port
from ostinato.broker.testing import broker_for_tests, unique_name


def wait_until(cond: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        time.sleep(0.01)


def process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_start_answers_metadata_and_stop_ends_the_process() -> None:
    broker = EmbeddedBroker()
    assert broker.bootstrap_servers == f"127.0.0.1:{broker.port}"
    assert not broker.alive() and broker.pid is None
    broker.start()
    try:
        assert broker.alive()
        pid = broker.pid
        assert pid is not None
        md = AdminClient({"bootstrap.servers": broker.bootstrap_servers}).list_topics(timeout=5)
        assert [b.port for b in md.brokers.values()] == [broker.port]
        assert all(b.host == "127.0.0.1" for b in md.brokers.values())
    finally:
        broker.stop()
    assert not broker.alive()
    assert process_gone(pid)


def test_stop_is_idempotent_and_removes_the_temporary_log() -> None:
    broker = EmbeddedBroker()
    broker.stop()  # never started: nothing to do
    broker.start()
    pid, log = broker.pid, broker.log_path
    assert pid is not None and log is not None and log.exists()
    broker.stop()
    broker.stop()
    assert broker.pid is None
    assert process_gone(pid)
    assert not log.exists()


def test_context_manager_and_log_file(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "broker.log"
    with EmbeddedBroker(log_file=log) as broker:
        assert broker.alive()
        pid = broker.pid
        assert pid is not None
    assert process_gone(pid)
    text = log.read_text()
    assert "tansu broker" in text and f"127.0.0.1:{broker.port}" in text  # kept after stop


def test_stop_kills_a_broker_that_ignores_sigterm() -> None:
    broker = EmbeddedBroker()
    broker.start()
    pid = broker.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # a stopped process cannot act on SIGTERM
    started = time.monotonic()
    broker.stop(timeout=0.5)
    assert time.monotonic() - started < 5
    assert process_gone(pid)


def test_a_taken_port_gives_a_clear_error_and_leaves_no_process() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        broker = EmbeddedBroker(port=port)
        started = time.monotonic()
        with pytest.raises(BrokerStartError) as info:
            broker.start(timeout=10)
        assert time.monotonic() - started < 5  # the exit is noticed, not the deadline
    message = str(info.value)
    assert f"port {port} on 127.0.0.1 is already in use" in message
    assert "AddrInUse" in message  # the log's tail is in the error
    assert not broker.alive() and broker.pid is None


def read_or_empty(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:  # another run removed its own log meanwhile
        return ""


def temporary_logs() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("ostinato-tansu-*.log"))


def test_a_chosen_port_taken_before_start_is_replaced() -> None:
    broker = EmbeddedBroker()
    first = broker.port
    logs_before = temporary_logs()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", first))
        sock.listen()
        with broker:
            assert broker.port != first
            md = AdminClient({"bootstrap.servers": broker.bootstrap_servers}).list_topics(timeout=5)
            assert md.brokers
            assert broker.log_path in temporary_logs()
    # The failed attempt's temporary log was removed (other runs may be writing their own).
    leftover = [p for p in temporary_logs() - logs_before if f"127.0.0.1:{first} " in read_or_empty(p)]
    assert leftover == []


def test_start_again_after_the_process_died() -> None:
    broker = EmbeddedBroker()
    broker.start()
    try:
        pid = broker.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not broker.alive(), what="broker death noticed")
        broker.start()
        assert broker.alive() and broker.pid != pid
    finally:
        broker.stop()


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))


def test_broker_for_tests_is_shared() -> None:
    assert broker_for_tests() is broker_for_tests()
    assert broker_for_tests().alive()


def test_produce_consume_round_trip() -> None:
    bootstrap = broker_for_tests().bootstrap_servers
    topic = unique_name("roundtrip")
    ensure_topics(bootstrap, [TopicSpec(topic, 3, compact=False)])
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    sent = {f"key-{i}": f"value-{i}" for i in range(30)}
    for key, value in sent.items():
        producer.produce(topic, value.encode(), key=key.encode())
    assert producer.flush(10) == 0

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": unique_name("roundtrip"),
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 10,
        }
    )
    # Explicit offsets: assigning at a logical offset (BEGINNING) costs librdkafka ~0.5 s.
    consumer.assign([TopicPartition(topic, p, 0) for p in range(3)])
    received: dict[str, str] = {}
    partitions: set[int] = set()
    deadline = time.monotonic() + 10
    try:
        while len(received) < len(sent) and time.monotonic() < deadline:
            msg = consumer.poll(0.1)
            if msg is None or msg.error() is not None:
                continue
            received[msg.key().decode()] = msg.value().decode()  # type: ignore[union-attr]
            partitions.add(msg.partition())  # type: ignore[arg-type]
    finally:
        consumer.close()
    assert received == sent
    assert len(partitions) > 1  # keys spread over the partitions
