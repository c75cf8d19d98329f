"""RegistryCodec: Confluent's wire format through a (mock) schema registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip(
    "confluent_kafka.schema_registry.avro",
    reason="confluent_kafka.schema_registry needs authlib, cachetools and attrs installed "
           "(confluent-kafka's `schemaregistry` extra)",
)

from confluent_kafka.schema_registry import SchemaRegistryClient  # noqa: E402
from confluent_kafka.schema_registry.avro import AvroDeserializer  # noqa: E402
from confluent_kafka.serialization import MessageField, SerializationContext  # noqa: E402

from ostinato.wire import (  # noqa: E402
    Codec,
    EncodeError,
    MalformedRecord,
    RegistryCodec,
    RegistryUnavailable,
    SchemaSet,
    UnknownSchema,
    default_codec,
    event_to_record,
    execution_from_record,
    execution_record,
    rebuild_task_outputs,
    record_to_event,
)
from ostinato.wire.schemas import default_schemas_dir, load_current, load_history  # noqa: E402

from tests.wire.samples import events, execution  # noqa: E402
from tests.wire.test_codec import EVOLUTION, log_record  # noqa: E402


@pytest.fixture
def client() -> Any:
    return SchemaRegistryClient.new_client({"url": "mock://ostinato-wire-tests"})


def test_round_trip_and_framing(client: Any) -> None:
    codec = RegistryCodec("mock://ostinato-wire-tests", client=client)
    for event in events():
        name, record = event_to_record(event)
        data = codec.encode(name, record, topic="ostinato.executor")
        assert data[0] == 0  # magic byte, then a 4-byte schema id
        decoded_name, decoded = codec.decode(data)
        assert decoded_name == name
        assert record_to_event(decoded_name, decoded) == event
    ex = execution(50)
    rebuild_task_outputs(ex)
    data = codec.encode("Execution", execution_record(ex))
    back = execution_from_record(codec.decode(data, expected="Execution")[1])
    assert back.to_dict() == ex.to_dict()
    # one subject per record name: several record types share a topic
    assert {"io.ostinato.v1.ExecutionRequested", "io.ostinato.v1.WorkerTaskResult",
            "io.ostinato.v1.Execution"} <= set(client.get_subjects())


def test_a_downstream_consumer_reads_with_confluents_own_deserializer(client: Any) -> None:
    codec = RegistryCodec("mock://ostinato-wire-tests", client=client)
    ex = execution(5)
    data = codec.encode("Execution", execution_record(ex), topic="ostinato.execution-results")
    consumer = AvroDeserializer(client)  # no schema of its own: the writer's, from the registry
    value = consumer(data, SerializationContext("ostinato.execution-results", MessageField.VALUE))
    assert value == codec.decode(data)[1]
    assert value["id"] == "ex1" and value["state"]["current"] == "PAUSED"
    assert len(value["taskRunList"]) == 5


def test_topic_record_strategy(client: Any) -> None:
    codec = RegistryCodec("mock://x", client=client, subject_strategy="topic_record")
    data = codec.encode("LogEntry", log_record(), topic="ostinato.logs")
    assert "ostinato.logs-io.ostinato.v1.LogEntry" in client.get_subjects()
    assert codec.decode(data)[1] == log_record()
    with pytest.raises(EncodeError, match="needs the topic"):
        codec.encode("LogEntry", log_record())


def test_same_errors_as_the_fingerprint_codec(client: Any) -> None:
    codec = RegistryCodec("mock://x", client=client)
    for data in (b"", b"\x00\x00", b"garbage bytes", default_codec().encode("LogEntry", log_record())):
        with pytest.raises(MalformedRecord, match="not a schema-registry record"):
            codec.decode(data)
    with pytest.raises(MalformedRecord, match="tombstone"):
        codec.decode(None)
    with pytest.raises(UnknownSchema, match="schema id 999 is not in the registry"):
        codec.decode(b"\x00\x00\x00\x03\xe7\x02ab")
    data = codec.encode("LogEntry", log_record())
    with pytest.raises(MalformedRecord, match="expected a Kill record, got a LogEntry"):
        codec.decode(data, expected="Kill")
    with pytest.raises(MalformedRecord, match="cannot decode a LogEntry record"):
        codec.decode(data[:8])
    with pytest.raises(EncodeError, match="LogEntry does not fit its schema"):
        codec.encode("LogEntry", log_record(attempt="one"))
    with pytest.raises(EncodeError, match="no schema for record"):
        codec.encode("Nope", {})
    # A registry record given to the fingerprint codec is malformed too.
    with pytest.raises(MalformedRecord):
        Codec().decode(data)


def test_unreachable_registry_is_not_a_malformed_record() -> None:
    codec = RegistryCodec("http://127.0.0.1:9", client_conf={"timeout": 1, "max.retries": 0})
    with pytest.raises(RegistryUnavailable):
        codec.encode("LogEntry", log_record())
    with pytest.raises(RegistryUnavailable):
        codec.decode(b"\x00\x00\x00\x00\x01\x02")


def _v2_set(base: Path) -> SchemaSet:
    v2 = [r for r in load_history(EVOLUTION) if r.name == "LogEntry"][0]
    return SchemaSet([r for r in load_current(base) if r.name != "LogEntry"] + [v2])


def test_evolution_through_the_registry(client: Any) -> None:
    v1 = RegistryCodec("mock://x", client=client)
    v2 = RegistryCodec("mock://x", _v2_set(default_schemas_dir()), client=client)
    old = v1.encode("LogEntry", log_record())
    new = v2.encode("LogEntry", {**log_record(), "hostname": "node-1"})
    assert old[1:5] != new[1:5]  # two schema ids under one subject
    assert v2.decode(old)[1] == {**log_record(), "hostname": None}  # backward
    assert v1.decode(new)[1] == log_record()  # forward: the writer schema comes from the registry
