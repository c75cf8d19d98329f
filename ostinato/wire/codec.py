"""Avro encoding of the records on the bus.

`Codec` frames a record with Avro's single-object encoding: the two bytes C3 01, the
8-byte little-endian CRC-64-AVRO fingerprint of the writer schema's parsing canonical form,
then the Avro binary body. A reader needs no registry: it knows every released writer
schema (`schemas/history/`) by fingerprint and resolves the writer's schema to its own
current one, so a record written by an older (or, once its schema file is deployed, a
newer) version of ostinato reads.

`RegistryCodec` (`--schema-registry-url`, ostinato/wire/registry.py) writes Confluent's
wire format instead (magic byte 0, 4-byte big-endian schema id, body), so that any
Confluent deserializer reads the records.

Both raise the same errors: `MalformedRecord` (with `.reason`) for bytes that cannot be
read as the record expected, `UnknownSchema` (a MalformedRecord) for a writer schema this
reader does not know; the caller dead-letters either. `EncodeError` for a value that does
not fit its schema; `RegistryUnavailable` when the registry cannot be reached (retry,
do not dead-letter).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastavro import schemaless_reader, schemaless_writer

from ostinato.wire.schemas import RecordSchema, SchemaSet

if TYPE_CHECKING:
    from ostinato.wire.registry import RegistrySettings

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


# ---------------------------------------------------------------- choosing one


def codec_for(registry: RegistrySettings | str | None, schemas_dir: Path | None = None) -> Codec:
    """The codec a service uses: with registry settings (or a URL), a RegistryCodec whose
    subjects are registered or checked at once (`RegistryUnavailable`, `SchemaNotRegistered`
    name what is wrong); else the fingerprint codec."""
    schemas = SchemaSet.load(schemas_dir) if schemas_dir else None
    if registry:
        from ostinato.wire.registry import RegistryCodec

        codec = RegistryCodec(registry, schemas)
        codec.prepare()
        return codec
    return Codec(schemas) if schemas is not None else default_codec()
