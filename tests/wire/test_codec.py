"""The single-object-encoding codec: framing, errors, schema evolution."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from fastavro import schemaless_reader

from ostinato.wire import (
    Codec,
    EncodeError,
    MalformedRecord,
    SchemaSet,
    UnknownSchema,
    default_codec,
    event_to_record,
    execution_record,
    log_entry_record,
)
from ostinato.wire.codec import MARKER
from ostinato.wire.records import LogEntry
from ostinato.wire.schemas import default_schemas_dir, fingerprint_of, load_current, load_history

from tests.wire.samples import at, events, execution

EVOLUTION = Path(__file__).parent / "evolution"


def log_record(**extra: object) -> dict[str, object]:
    entry = LogEntry(namespace="n", flow_id="f", execution_id="ex1", level="INFO",
                     message="hello", timestamp=at(1), task_run_id="tr1", task_id="t",
                     attempt=1, thread="main")
    return {**log_entry_record(entry), **extra}


def test_single_object_encoding_header() -> None:
    codec = default_codec()
    name, record = event_to_record(events()[0])
    data = codec.encode(name, record)
    assert data[:2] == b"\xc3\x01" == MARKER
    schema = codec.schema("ExecutionRequested")
    # The spec's fingerprint: CRC-64-AVRO of the parsing canonical form, little-endian.
    assert data[2:10] == schema.fingerprint == fingerprint_of(schema.schema)
    # The body is plain Avro binary of the writer schema.
    assert schemaless_reader(io.BytesIO(data[10:]), schema.parsed, None) == record


def test_full_name_and_short_name() -> None:
    codec = default_codec()
    record = log_record()
    assert codec.encode("io.ostinato.v1.LogEntry", record) == codec.encode("LogEntry", record)
    assert codec.decode(codec.encode("LogEntry", record), expected="io.ostinato.v1.LogEntry")[0] == "LogEntry"


def test_every_current_schema_encodes_a_generated_record() -> None:
    from fastavro.utils import generate_many

    codec = default_codec()
    for name in codec.schemas.names:
        schema = codec.schema(name)
        for value in generate_many(schema.schema, 3):
            data = codec.encode(name, value)
            decoded_name, decoded = codec.decode(data)
            # (timestamps come back as datetimes: compare the bytes they encode to)
            assert decoded_name == name and codec.encode(name, decoded) == data


def test_unknown_fingerprint() -> None:
    codec = default_codec()
    data = codec.encode("LogEntry", log_record())
    forged = data[:2] + bytes(8) + data[10:]
    with pytest.raises(UnknownSchema, match="unknown schema fingerprint 0000000000000000"):
        codec.decode(forged)
    assert issubclass(UnknownSchema, MalformedRecord)


@pytest.mark.parametrize("data", [
    b"", b"\xc3", b"\xc3\x01\x00", b"hello world, not avro", b'{"json": true}',
    b"\x00\x00\x00\x00\x01\x02",  # Confluent framing
])
def test_garbage(data: bytes) -> None:
    with pytest.raises(MalformedRecord) as info:
        default_codec().decode(data)
    assert "not an Avro single-object-encoded record" in info.value.reason


def test_tombstone() -> None:
    with pytest.raises(MalformedRecord, match="tombstone"):
        default_codec().decode(None)


def test_truncated_and_corrupted_bodies() -> None:
    codec = default_codec()
    data = codec.encode("Execution", execution_record(execution()))
    for cut in (11, 50, len(data) // 2, len(data) - 1):
        with pytest.raises(MalformedRecord, match="cannot decode a Execution record"):
            codec.decode(data[:cut])
    with pytest.raises(MalformedRecord, match="trailing bytes"):
        codec.decode(data + b"\x00")
    # A negative length (varint of -5) where a string is.
    header = data[:10]
    with pytest.raises(MalformedRecord):
        codec.decode(header + b"\x09" + b"abc")
    # Invalid UTF-8 in a string.
    log = codec.encode("Kill", {"eventId": "e", "at": at(0), "executionId": "x"})
    with pytest.raises(MalformedRecord):
        codec.decode(log[:10] + b"\x02\xff" + log[12:])


def test_expected_record() -> None:
    codec = default_codec()
    data = codec.encode("LogEntry", log_record())
    assert codec.decode(data, expected="LogEntry")[0] == "LogEntry"
    with pytest.raises(MalformedRecord, match="expected a WorkerTask record, got a LogEntry"):
        codec.decode(data, expected="WorkerTask")


def test_encode_errors() -> None:
    codec = default_codec()
    with pytest.raises(EncodeError, match="no schema for record `Nope`"):
        codec.encode("Nope", {})
    with pytest.raises(EncodeError, match="LogEntry does not fit its schema"):
        codec.encode("LogEntry", log_record(attempt="one"))
    with pytest.raises(EncodeError):
        codec.encode("LogEntry", {k: v for k, v in log_record().items() if k != "message"})
    with pytest.raises(EncodeError):  # an unknown field (a typo) is refused
        codec.encode("LogEntry", log_record(mesage="x"))
    # A nullable field with a default may be left out.
    partial = {k: v for k, v in log_record().items() if k != "thread"}
    assert codec.decode(codec.encode("LogEntry", partial))[1]["thread"] is None


# ---------------------------------------------------------------- evolution


def _v2_schemas(base: Path) -> SchemaSet:
    """A reader whose current LogEntry is v2 (a new optional field), knowing v1 from history."""
    v2 = [r for r in load_history(EVOLUTION) if r.name == "LogEntry"][0]
    current = [r for r in load_current(base) if r.name != "LogEntry"] + [v2]
    return SchemaSet(current, load_history(base / "history"))


def test_backward_v2_reader_reads_v1_records() -> None:
    v1 = default_codec()
    v2 = Codec(_v2_schemas(default_schemas_dir()))
    data = v1.encode("LogEntry", log_record())
    name, value = v2.decode(data)
    assert name == "LogEntry"
    assert value == {**log_record(), "hostname": None}
    # and v2 writes its own version, with another fingerprint
    new = v2.encode("LogEntry", {**log_record(), "hostname": "node-1"})
    assert new[2:10] != data[2:10]
    assert v2.decode(new)[1]["hostname"] == "node-1"


def test_forward_v1_reader_reads_v2_records_once_it_knows_the_v2_schema() -> None:
    v2 = Codec(_v2_schemas(default_schemas_dir()))
    data = v2.encode("LogEntry", {**log_record(), "hostname": "node-1"})
    # A v1 reader that was never told about v2: a clear error (the record is dead-lettered).
    with pytest.raises(UnknownSchema):
        default_codec().decode(data)
    # Deploy v2's schema file to the v1 reader (without its code): it reads v2 records as v1.
    v1_aware = Codec(SchemaSet.load(default_schemas_dir(), EVOLUTION))
    assert v1_aware.decode(data) == ("LogEntry", log_record())


def test_released_versions_are_readable_by_the_current_schemas() -> None:
    """Every writer version in schemas/history reads with the current reader schema."""
    from fastavro.utils import generate_many

    codec = default_codec()
    for writer in codec.schemas.writers.values():
        reader = codec.schemas.reader(writer.name)
        assert reader is not None, f"{writer.name} v{writer.version} has no current schema"
        for value in generate_many(writer.schema, 2):
            from fastavro import schemaless_writer

            out = io.BytesIO()
            schemaless_writer(out, writer.parsed, value)
            codec.decode(MARKER + writer.fingerprint + out.getvalue())


def test_check_and_freeze(tmp_path: Path) -> None:
    import shutil

    from ostinato.wire.__main__ import main

    folder = tmp_path / "schemas"
    shutil.copytree(default_schemas_dir(), folder)
    assert main(["check", str(folder)]) == 0
    schema = json.loads((folder / "LogEntry.avsc").read_text())
    schema["fields"].append({"name": "hostname", "type": ["null", "string"], "default": None})
    (folder / "LogEntry.avsc").write_text(json.dumps(schema))
    assert main(["check", str(folder)]) == 1
    assert main(["freeze", str(folder)]) == 0
    assert (folder / "history" / "LogEntry.v2.avsc").is_file()
    assert main(["check", str(folder)]) == 0
    codec = Codec(SchemaSet.load(folder))
    v1_data = default_codec().encode("LogEntry", log_record())
    assert codec.decode(v1_data)[1]["hostname"] is None
