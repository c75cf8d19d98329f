"""RegistryCodec: Confluent's wire format through confluent-kafka's `mock://` registry client
(no Confluent-compatible registry server installs from the package registries here)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip(
    "confluent_kafka.schema_registry.avro",
    reason="confluent_kafka.schema_registry needs authlib, cachetools and attrs installed "
           "(confluent-kafka's `schemaregistry` extra)",
)

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient  # noqa: E402
from confluent_kafka.schema_registry.avro import AvroDeserializer  # noqa: E402
from confluent_kafka.serialization import MessageField, SerializationContext  # noqa: E402

from ostinato.kafka.config import TOPIC_POLICIES  # noqa: E402
from ostinato.wire import (  # noqa: E402
    Codec,
    EncodeError,
    MalformedRecord,
    RegistryCodec,
    RegistrySettings,
    RegistryUnavailable,
    SchemaNotRegistered,
    SchemaSet,
    UnknownSchema,
    default_codec,
    event_to_record,
    execution_from_record,
    execution_record,
    rebuild_task_outputs,
    record_to_event,
)
from ostinato.wire.registry import TOPIC_RECORDS  # noqa: E402
from ostinato.wire.schemas import default_schemas_dir, load_current, load_history  # noqa: E402

from tests.wire.samples import events, execution  # noqa: E402
from tests.wire.test_codec import EVOLUTION, log_record  # noqa: E402

#: records that are only parts of others (schemas/README.md)
PARTS = {"State", "History", "Attempt", "Label", "Timer", "LogLine"}


@pytest.fixture
def client() -> Any:
    return SchemaRegistryClient.new_client({"url": "mock://ostinato-wire-tests"})


def codec_of(client: Any, **settings: Any) -> RegistryCodec:
    return RegistryCodec(RegistrySettings("mock://ostinato-wire-tests", **settings), client=client)


def test_round_trip_and_framing(client: Any) -> None:
    codec = codec_of(client)
    for event in events():
        name, record = event_to_record(event)
        data = codec.encode(name, record)
        assert data[0] == 0  # magic byte, then a 4-byte schema id
        decoded_name, decoded = codec.decode(data)
        assert decoded_name == name
        assert record_to_event(decoded_name, decoded) == event
    ex = execution(50)
    rebuild_task_outputs(ex)
    data = codec.encode("Execution", execution_record(ex))
    back = execution_from_record(codec.decode(data, expected="Execution")[1])
    assert back.to_dict() == ex.to_dict()


def test_topic_strategy_names_subjects_after_topics(client: Any) -> None:
    codec = codec_of(client)
    codec.prepare()
    subjects = set(client.get_subjects())
    # a topic of one record type: Confluent's default <topic>-value
    for topic in ("execution-results", "logs", "flows", "kv", "worker-tasks", "dead-letters"):
        assert f"ostinato.{topic}-value" in subjects
    # a topic of several: <topic>-<record>, one subject per record type
    assert {"ostinato.executor-io.ostinato.v1.ExecutionRequested",
            "ostinato.executor-io.ostinato.v1.WorkerTaskResult",
            "ostinato.admissions-io.ostinato.v1.ExecutionRequested",
            "ostinato.executions-io.ostinato.v1.Execution",
            "ostinato.executions-io.ostinato.v1.ExecutionUpdate"} <= subjects
    assert "ostinato.executor-value" not in subjects and "ostinato.executions-value" not in subjects
    assert not any(s.startswith("io.ostinato") for s in subjects)


def test_other_strategies_and_prefix(client: Any) -> None:
    codec_of(client, subject_strategy="record").encode("LogEntry", log_record())
    assert client.get_subjects() == ["io.ostinato.v1.LogEntry"]
    other = SchemaRegistryClient.new_client({"url": "mock://other"})
    codec = codec_of(other, subject_strategy="topic_record", topic_prefix="prod.")
    data = codec.encode("LogEntry", log_record())
    assert other.get_subjects() == ["prod.logs-io.ostinato.v1.LogEntry"]
    assert codec.decode(data)[1] == log_record()
    # a topic named by the caller: that topic's subject only
    third = SchemaRegistryClient.new_client({"url": "mock://third"})
    codec_of(third).encode("LogEntry", log_record(), topic="audit.logs")
    assert third.get_subjects() == ["audit.logs-value"]


def test_a_downstream_consumer_reads_execution_results_with_confluents_deserializer(client: Any) -> None:
    codec = codec_of(client)
    ex = execution(5)
    data = codec.encode("Execution", execution_record(ex))  # no topic, as the executor does
    consumer = AvroDeserializer(client)  # default config: the writer's schema, from the registry
    value = consumer(data, SerializationContext("ostinato.execution-results", MessageField.VALUE))
    assert value == codec.decode(data)[1]
    assert value["id"] == "ex1" and value["state"]["current"] == "PAUSED"
    assert len(value["taskRunList"]) == 5
    # what ksqlDB and Connect look up for the topic: the Execution schema
    latest = client.get_latest_version("ostinato.execution-results-value")
    assert json.loads(latest.schema.schema_str)["name"] == "Execution"


def test_auto_registration_off_fails_clearly_then_works_once_registered(client: Any) -> None:
    codec = codec_of(client, auto_register=False)
    with pytest.raises(SchemaNotRegistered, match="auto-registration is off and subject "
                       "`ostinato.logs-value` .* does not have the schema of "
                       "io.ostinato.v1.LogEntry") as raised:
        codec.encode("LogEntry", log_record())
    assert raised.value.subjects == ["ostinato.logs-value"]
    assert client.get_subjects() == []  # looked up, never registered
    with pytest.raises(SchemaNotRegistered, match="lacks ostinato's schema under") as raised:
        codec.prepare()
    assert "ostinato.execution-results-value" in raised.value.subjects
    assert "ostinato.executor-io.ostinato.v1.Kill" in raised.value.subjects

    log_schema = Schema(codec.schema("LogEntry").json, "AVRO")
    schema_id = client.register_schema("ostinato.logs-value", log_schema)
    data = codec.encode("LogEntry", log_record())
    assert int.from_bytes(data[1:5], "big") == schema_id
    assert codec.decode(data)[1] == log_record()
    # an operator's registration of every subject (a codec with auto-registration on) is
    # what a codec with it off then finds
    codec_of(client).prepare()
    codec_of(client, auto_register=False).prepare()


def test_same_errors_as_the_fingerprint_codec(client: Any) -> None:
    codec = codec_of(client)
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
    settings = RegistrySettings("http://127.0.0.1:9", extra={"timeout": 1, "max.retries": 0})
    codec = RegistryCodec(settings)
    with pytest.raises(RegistryUnavailable, match="http://127.0.0.1:9 failed registering the "
                       "schema of LogEntry under subject `ostinato.logs-value`"):
        codec.encode("LogEntry", log_record())
    with pytest.raises(RegistryUnavailable):
        codec.decode(b"\x00\x00\x00\x00\x01\x02")
    with pytest.raises(RegistryUnavailable):
        codec.prepare()


def test_every_record_on_a_topic_is_in_the_subject_table() -> None:
    known = {record.name for record in load_current(default_schemas_dir())}
    carried = {name for names in TOPIC_RECORDS.values() for name in names}
    assert set(TOPIC_RECORDS) == set(TOPIC_POLICIES)
    assert carried <= known
    assert known - carried == PARTS
    # the one topic outside consumers must read with `<topic>-value`
    assert TOPIC_RECORDS["execution-results"] == ("Execution",)


def _v2_set(base: Path) -> SchemaSet:
    v2 = [r for r in load_history(EVOLUTION) if r.name == "LogEntry"][0]
    return SchemaSet([r for r in load_current(base) if r.name != "LogEntry"] + [v2])


def test_evolution_through_the_registry(client: Any) -> None:
    v1 = codec_of(client)
    v2 = RegistryCodec(RegistrySettings("mock://x"), _v2_set(default_schemas_dir()), client=client)
    old = v1.encode("LogEntry", log_record())
    new = v2.encode("LogEntry", {**log_record(), "hostname": "node-1"})
    assert old[1:5] != new[1:5]  # two schema ids under one subject
    assert sorted(client.get_versions("ostinato.logs-value")) == [1, 2]  # the mock keeps a set
    assert v2.decode(old)[1] == {**log_record(), "hostname": None}  # backward
    assert v1.decode(new)[1] == log_record()  # forward: the writer schema comes from the registry
