"""Avro encoding of the records on the bus.

`Codec` frames a record with Avro's single-object encoding: the two bytes C3 01, the
8-byte little-endian CRC-64-AVRO fingerprint of the writer schema's parsing canonical form,
then the Avro binary body. A reader needs no registry: it knows every released writer
schema (`schemas/history/`) by fingerprint and resolves the writer's schema to its own
current one, so a record written by an older (or, once its schema file is deployed, a
newer) version of ostinato reads.

`RegistryCodec` (`--schema-registry-url`) writes Confluent's wire format instead (magic
byte 0, 4-byte big-endian schema id, body) through `confluent_kafka.schema_registry`, with
one subject per record name, so that several record types share a topic and any Confluent
deserializer reads them.

Both raise the same errors: `MalformedRecord` (with `.reason`) for bytes that cannot be
read as the record expected, `UnknownSchema` (a MalformedRecord) for a writer schema this
reader does not know; the caller dead-letters either. `EncodeError` for a value that does
not fit its schema; `RegistryUnavailable` when the registry cannot be reached (retry,
do not dead-letter).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, Callable, Literal

from fastavro import schemaless_reader, schemaless_writer

from ostinato.wire.schemas import RecordSchema, SchemaSet

MARKER = b"\xc3\x01"
HEADER_SIZE = len(MARKER) + 8


class WireError(Exception):
    """Base of the codec's errors."""


class MalformedRecord(WireError):
    """A record that cannot be decoded; `reason` says why. Dead-letter it."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class UnknownSchema(MalformedRecord):
    """The record was written with a schema this reader does not know."""


class EncodeError(WireError, ValueError):
    """A value that does not fit its record's schema (or an unknown record name)."""


class RegistryUnavailable(WireError):
    """The schema registry could not be reached or failed: retry later."""


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


class Codec:
    """Single-object-encoded Avro records, schemas known by fingerprint."""

    def __init__(self, schemas: SchemaSet | None = None):
        self.schemas = schemas if schemas is not None else SchemaSet.load()

    # ---------------------------------------------------------------- helpers

    def schema(self, record_name: str) -> RecordSchema:
        """The current schema of `record_name` (short or full name)."""
        record = self.schemas.reader(record_name)
        if record is None:
            raise EncodeError(f"no schema for record `{record_name}`")
        return record

    def _body(self, record: RecordSchema, value: dict[str, Any]) -> bytes:
        out = io.BytesIO()
        try:
            schemaless_writer(out, record.parsed, value, strict_allow_default=True)
        except Exception as error:  # fastavro raises ValueError, TypeError, KeyError ...
            raise EncodeError(f"a {record.name} does not fit its schema: {error}") from error
        return out.getvalue()

    @staticmethod
    def _check_expected(name: str, expected: str | None) -> None:
        if expected is not None and _short(expected) != name:
            raise MalformedRecord(f"expected a {_short(expected)} record, got a {name}")

    # ---------------------------------------------------------------- API

    def encode(self, record_name: str, value: dict[str, Any], *, topic: str | None = None) -> bytes:
        """The framed Avro bytes of `value`, a `record_name` record (`topic` is unused
        here; the registry codec may name subjects after it)."""
        record = self.schema(record_name)
        return MARKER + record.fingerprint + self._body(record, value)

    def decode(self, data: bytes | None, *, expected: str | None = None,
               topic: str | None = None) -> tuple[str, dict[str, Any]]:
        """(record name, value) of framed bytes, resolved to the current schema."""
        if data is None:
            raise MalformedRecord("no value (a tombstone) where a record was expected")
        if len(data) < HEADER_SIZE or data[:2] != MARKER:
            raise MalformedRecord(
                "not an Avro single-object-encoded record (expected the marker C3 01 and an "
                f"8-byte schema fingerprint; got {len(data)} bytes starting {data[:10].hex()})"
            )
        fingerprint = bytes(data[2:HEADER_SIZE])
        writer = self.schemas.writers.get(fingerprint)
        if writer is None:
            raise UnknownSchema(
                f"unknown schema fingerprint {fingerprint.hex()}: the record was written with "
                "a schema this reader does not know (deploy its schemas/history file)"
            )
        self._check_expected(writer.name, expected)
        reader = self.schemas.reader(writer.name)
        if reader is None:
            raise UnknownSchema(f"no current schema for record {writer.name}")
        value = _read_body(data[HEADER_SIZE:], writer, reader)
        return writer.name, value


def _read_body(body: bytes, writer: RecordSchema, reader: RecordSchema) -> dict[str, Any]:
    stream = io.BytesIO(body)
    try:
        if writer.fingerprint == reader.fingerprint:
            value = schemaless_reader(stream, writer.parsed, None)
        else:
            value = schemaless_reader(stream, writer.parsed, reader.parsed)
    except Exception as error:  # EOF, bad varint, bad UTF-8, unresolvable schemas ...
        raise MalformedRecord(
            f"cannot decode a {writer.name} record: {type(error).__name__}: {error}"
        ) from None
    if stream.tell() != len(body):
        raise MalformedRecord(
            f"a {writer.name} record with {len(body) - stream.tell()} trailing bytes"
        )
    if not isinstance(value, dict):
        raise MalformedRecord(f"a {writer.name} record that is not a record")
    return value


_CACHED: Codec | None = None


def default_codec() -> Codec:
    """The codec of the schemas in `schemas/` (loaded once)."""
    global _CACHED
    if _CACHED is None:
        _CACHED = Codec(SchemaSet.load())
    return _CACHED


# ---------------------------------------------------------------- schema registry

SubjectStrategy = Literal["record", "topic_record"]


class RegistryCodec(Codec):
    """Confluent's wire format through a schema registry (`mock://...` for tests).

    Subjects are named after the record (`io.ostinato.v1.WorkerTask`, RecordNameStrategy),
    or `<topic>-<record>` with `subject_strategy="topic_record"` (then `encode` needs
    `topic`). Schemas are registered on first use unless `auto_register=False`.
    """

    def __init__(
        self,
        url: str,
        schemas: SchemaSet | None = None,
        *,
        client: Any = None,
        client_conf: dict[str, Any] | None = None,
        subject_strategy: SubjectStrategy = "record",
        auto_register: bool = True,
    ):
        super().__init__(schemas)
        from confluent_kafka.schema_registry import (
            SchemaRegistryClient,
            record_subject_name_strategy,
            topic_record_subject_name_strategy,
        )

        self.url = url
        self.client = client if client is not None else SchemaRegistryClient.new_client(
            {"url": url, **(client_conf or {})}
        )
        self._strategy: Callable[..., Any] = (
            record_subject_name_strategy if subject_strategy == "record"
            else topic_record_subject_name_strategy
        )
        self._subject_strategy = subject_strategy
        self._auto_register = auto_register
        self._serializers: dict[str, Any] = {}
        self._deserializers: dict[str, Any] = {}
        self._names_by_id: dict[int, str] = {}

    def _context(self, topic: str | None) -> Any:
        from confluent_kafka.serialization import MessageField, SerializationContext

        return SerializationContext(topic or "ostinato", MessageField.VALUE)

    def encode(self, record_name: str, value: dict[str, Any], *, topic: str | None = None) -> bytes:
        from confluent_kafka.schema_registry import SchemaRegistryError
        from confluent_kafka.schema_registry.avro import AvroSerializer

        record = self.schema(record_name)
        if self._subject_strategy == "topic_record" and topic is None:
            raise EncodeError("the topic_record subject strategy needs the topic")
        serializer = self._serializers.get(record.name)
        if serializer is None:
            serializer = AvroSerializer(
                self.client, record.json,
                conf={"auto.register.schemas": self._auto_register,
                      "use.latest.version": not self._auto_register,
                      "subject.name.strategy": self._strategy,
                      "validate.strict.allow.default": True},
            )
            self._serializers[record.name] = serializer
        try:
            data = serializer(value, self._context(topic))
        except SchemaRegistryError as error:
            raise _registry_error(error, f"registering the schema of {record.name}") from error
        except Exception as error:
            self._body(record, value)  # raises EncodeError if the value is at fault
            raise RegistryUnavailable(
                f"schema registry failed registering the schema of {record.name}: {error}"
            ) from error
        assert isinstance(data, bytes)
        return data

    def decode(self, data: bytes | None, *, expected: str | None = None,
               topic: str | None = None) -> tuple[str, dict[str, Any]]:
        from confluent_kafka.schema_registry import SchemaRegistryError
        from confluent_kafka.schema_registry.avro import AvroDeserializer

        if data is None:
            raise MalformedRecord("no value (a tombstone) where a record was expected")
        if len(data) < 5 or data[0] != 0:
            raise MalformedRecord(
                "not a schema-registry record (expected the magic byte 0 and a 4-byte schema "
                f"id; got {len(data)} bytes starting {bytes(data[:5]).hex()})"
            )
        schema_id = int.from_bytes(data[1:5], "big")
        name = self._names_by_id.get(schema_id)
        if name is None:
            try:
                registered = self.client.get_schema(schema_id)
            except SchemaRegistryError as error:
                if error.http_status_code == 404:
                    raise UnknownSchema(
                        f"schema id {schema_id} is not in the registry at {self.url}"
                    ) from None
                raise _registry_error(error, f"fetching schema id {schema_id}") from error
            except Exception as error:
                raise RegistryUnavailable(
                    f"schema registry failed fetching schema id {schema_id}: {error}"
                ) from error
            try:
                writer = json.loads(registered.schema_str or "")
                name = _short(str(writer["name"]))
            except (ValueError, KeyError, TypeError):
                raise UnknownSchema(f"schema id {schema_id} is not an Avro record schema") from None
            self._names_by_id[schema_id] = name
        self._check_expected(name, expected)
        reader = self.schemas.reader(name)
        if reader is None:
            raise UnknownSchema(f"schema id {schema_id} is a {name}, a record this reader "
                                "does not know")
        deserializer = self._deserializers.get(name)
        if deserializer is None:
            deserializer = AvroDeserializer(self.client, reader.json)
            self._deserializers[name] = deserializer
        try:
            # No serialization context: the writer schema comes from the id alone.
            value = deserializer(bytes(data), None)
        except SchemaRegistryError as error:
            raise _registry_error(error, f"fetching schema id {schema_id}") from error
        except Exception as error:
            raise MalformedRecord(
                f"cannot decode a {name} record: {type(error).__name__}: {error}"
            ) from None
        if not isinstance(value, dict):
            raise MalformedRecord(f"a {name} record that is not a record")
        return name, value


def _registry_error(error: Any, doing: str) -> WireError:
    """An incompatible or invalid schema (409, 422) is the writer's fault; anything else
    (unreachable, 5xx, authentication) is the registry's, and is retried."""
    status = getattr(error, "http_status_code", None)
    if status in (409, 422):
        return EncodeError(f"schema registry refused {doing}: {error}")
    return RegistryUnavailable(f"schema registry failed {doing}: {error}")


def codec_for(schema_registry_url: str | None, schemas_dir: Path | None = None) -> Codec:
    """The codec a service uses: a RegistryCodec with `--schema-registry-url`, else the
    fingerprint codec."""
    schemas = SchemaSet.load(schemas_dir) if schemas_dir else None
    if schema_registry_url:
        return RegistryCodec(schema_registry_url, schemas)
    return Codec(schemas) if schemas is not None else default_codec()
