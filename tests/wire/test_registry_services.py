"""Through the services: an executor and a worker (threads of this process, on the embedded
broker) write Confluent-framed records, and a consumer with nothing but confluent-kafka's
`Consumer` and `AvroDeserializer` reads `execution-results`.

The registry is confluent-kafka's `mock://` client, shared by the services and the consumer
(no Confluent-compatible registry server installs from the package registries here); the
services therefore run in this process rather than as `ostinato executor` processes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("confluent_kafka.schema_registry.avro")

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition  # noqa: E402
from confluent_kafka.schema_registry import SchemaRegistryClient  # noqa: E402
from confluent_kafka.schema_registry.avro import AvroDeserializer  # noqa: E402
from confluent_kafka.serialization import MessageField, SerializationContext  # noqa: E402

from ostinato.broker.testing import broker_for_tests, unique_name  # noqa: E402
from ostinato.harness import ServiceRunner  # noqa: E402
from ostinato.kafka.config import KafkaSettings  # noqa: E402
from ostinato.kafka.flow_table import FlowTable  # noqa: E402
from ostinato.kafka.topics import ensure_all_topics  # noqa: E402
from ostinato.services.executor.service import ExecutorConfig, ExecutorService  # noqa: E402
from ostinato.services.worker.service import WorkerConfig, WorkerService  # noqa: E402
from ostinato.wire import RegistryCodec, RegistrySettings  # noqa: E402

FLOW = """id: registry-results
namespace: tests.registry
tasks:
  - id: greet
    type: io.kestra.plugin.core.debug.Return
    format: "hello {{ inputs.name }}"
inputs:
  - id: name
    type: STRING
"""


class Services:
    """An executor and a worker in threads, with one registry client for everyone."""

    def __init__(self, settings: KafkaSettings, codec: RegistryCodec, data_dir: Path) -> None:
        self.flows = FlowTable(settings, codec)
        self.executor = ExecutorService(settings, ExecutorConfig(data_dir=data_dir / "executor",
                                                                 flow_wait_seconds=5.0),
                                        codec, self.flows)
        self.worker = WorkerService(settings, WorkerConfig(storage_dir=data_dir / "storage"), codec)
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=service.run, args=(self.stop,), name=name)
                        for name, service in (("executor", self.executor), ("worker", self.worker))]

    def start(self) -> None:
        self.flows.start()
        assert self.flows.wait_caught_up(30)
        for thread in self.threads:
            thread.start()

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(30)
        self.flows.stop()


@pytest.fixture(scope="module")
def registry() -> Any:
    return SchemaRegistryClient.new_client({"url": "mock://ostinato-services"})


@pytest.fixture(scope="module")
def settings() -> KafkaSettings:
    base = KafkaSettings(bootstrap_servers=broker_for_tests().bootstrap_servers,
                         session_timeout_ms=3000, partitions=1, broker_profile="embedded")
    settings = replace(base, topic_prefix=unique_name("registry") + ".")
    ensure_all_topics(settings)
    return settings


@pytest.fixture(scope="module")
def bus(settings: KafkaSettings, registry: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceRunner]:
    codec = RegistryCodec(RegistrySettings("mock://ostinato-services", topic_prefix=settings.topic_prefix),
                          client=registry)
    codec.prepare()
    data_dir = tmp_path_factory.mktemp("registry-services")
    services = Services(settings, codec, data_dir)
    services.start()
    runner = ServiceRunner(settings, codec, data_dir / "storage")
    runner.watcher.start()
    try:
        yield runner
    finally:
        runner.close()
        services.close()


def read_results(settings: KafkaSettings, registry: Any, execution_id: str, timeout: float) -> dict[str, Any]:
    """The execution's record on execution-results, read with Confluent's classes only."""
    topic = settings.topic("execution-results")
    consumer = Consumer({"bootstrap.servers": settings.bootstrap_servers,
                         "group.id": unique_name("downstream"), "enable.auto.commit": False})
    deserializer = AvroDeserializer(registry)  # default configuration
    # assigned, not subscribed: a group join costs the embedded broker seconds
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING)
                     for p in range(settings.partitions)])
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            value = deserializer(message.value(), SerializationContext(topic, MessageField.VALUE))
            if value["id"] == execution_id:
                return dict(value)
        raise AssertionError(f"no record of {execution_id} on {topic} within {timeout} s")
    finally:
        consumer.close()


def test_a_plain_confluent_consumer_reads_execution_results(
        bus: ServiceRunner, settings: KafkaSettings, registry: Any) -> None:
    flow = bus.deploy(FLOW)
    execution = bus.run(flow, {"name": "registry"}, timeout=60)
    assert execution.state.current == "SUCCESS"
    value = read_results(settings, registry, execution.id, timeout=30)
    assert value["state"]["current"] == "SUCCESS"
    assert value["flowId"] == "registry-results" and value["namespace"] == "tests.registry"
    assert [run["taskId"] for run in value["taskRunList"]] == ["greet"]
    assert '"hello registry"' in value["taskRunList"][0]["outputsJson"]
    # what ksqlDB looks up for the topic is the schema those records carry
    latest = registry.get_latest_version(settings.topic("execution-results") + "-value")
    assert '"name":"Execution"' in latest.schema.schema_str
