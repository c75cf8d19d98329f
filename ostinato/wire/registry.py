"""Confluent's wire format through a schema registry (`--schema-registry-url`).

A record is the magic byte 0, the 4-byte big-endian id of its writer schema in the registry,
then the Avro binary body, so that Confluent's own `AvroDeserializer` (and ksqlDB, Kafka
Connect, ...) read it. Decoding needs only the id; encoding needs the schema registered (or,
with auto-registration off, found) under its subject.

Subjects (`subject_strategy`):

- `topic` (the default, Confluent's TopicNameStrategy): `<topic>-value` for a topic that
  carries one record type (`ostinato.execution-results-value`). A topic that carries several
  (`executor`, `executions`, `admissions`, `executor-changelog`: TOPIC_RECORDS) gets
  `<topic>-<full record name>` instead: one `<topic>-value` subject cannot hold several
  record schemas without a union, which would change every record's bytes (a branch index
  before the body) and make each new record type a union change.
- `record` (RecordNameStrategy): the full record name (`io.ostinato.v1.Execution`).
- `topic_record` (TopicRecordNameStrategy): `<topic>-<full record name>`.

Services call `encode` without the topic (the same bytes of an `Execution` go to
`executions` and `execution-results`), so a record's schema is registered under the subject
of every topic TOPIC_RECORDS says carries it; a registry gives one schema the same id under
every subject.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from ostinato.wire.codec import (
    Codec,
    EncodeError,
    MalformedRecord,
    RegistryUnavailable,
    UnknownSchema,
    WireError,
    _short,
)
from ostinato.wire.schemas import RecordSchema, SchemaSet

SubjectStrategy = Literal["topic", "record", "topic_record"]
SUBJECT_STRATEGIES: tuple[str, ...] = get_args(SubjectStrategy)

#: which records each topic carries (topic names without the prefix); kept in step with
#: the services' sends (schemas/README.md has the same table)
TOPIC_RECORDS: dict[str, tuple[str, ...]] = {
    "flows": ("Flow",),
    "executor": ("ExecutionRequested", "WorkerTaskResult", "SubflowResult", "TimerFired", "Kill",
                 "Resume", "Admit", "Restart", "Replay", "ExecutionSeeded"),
    "worker-tasks": ("WorkerTask",),
    "worker-control": ("KillTask",),
    "executions": ("ExecutionUpdate", "Execution"),
    "execution-results": ("Execution",),
    "triggers": ("TriggerEvent",),
    "logs": ("LogEntry",),
    "scheduler-state": ("TriggerState",),
    "kv": ("KeyValue",),
    "flow-trigger-hits": ("PreconditionHit",),
    "flow-trigger-state": ("PreconditionWindow",),
    "executor-changelog": ("ExecutionHeader", "TaskRun", "TaskRunValues"),
    "admissions": ("ExecutionRequested", "ExecutionEnded"),
    "admission-state": ("AdmissionState",),
    "dead-letters": ("DeadLetter",),
    "services": ("ServiceHeartbeat",),
}


class RegistryConfigError(WireError, ValueError):
    """Registry settings that do not fit together (credentials of two kinds ...)."""


class SchemaNotRegistered(RegistryUnavailable):
    """Auto-registration is off and a subject lacks the schema this writer uses. Retried
    like an unreachable registry: the record is fine, the registry is not ready yet."""

    def __init__(self, message: str, subjects: list[str]):
        super().__init__(message)
        self.subjects = subjects


@dataclass(frozen=True)
class RegistrySettings:
    """How to reach the schema registry and how to name and register subjects."""

    url: str
    #: CA bundle (file or directory) that signed the registry's certificate
    ca_location: str | None = None
    #: client certificate and key, for a registry that wants mutual TLS
    certificate_location: str | None = None
    key_location: str | None = None
    key_password: str | None = None
    #: HTTP basic authentication (Confluent Cloud: the API key and secret)
    username: str | None = None
    password: str | None = None
    #: a static bearer token; Confluent Cloud also needs the logical cluster (lsrc-...)
    #: and, with identity pools, the pool id
    bearer_token: str | None = None
    logical_cluster: str | None = None
    identity_pool_id: str | None = None
    auto_register: bool = True
    subject_strategy: SubjectStrategy = "topic"
    topic_prefix: str = "ostinato."
    #: any other SchemaRegistryClient setting (timeout, max.retries, proxy ...)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.url:
            raise RegistryConfigError("the schema registry URL is empty")
        if self.subject_strategy not in SUBJECT_STRATEGIES:
            raise RegistryConfigError(
                f"unknown subject strategy `{self.subject_strategy}` "
                f"(one of {', '.join(SUBJECT_STRATEGIES)})")
        if self.bearer_token and (self.username or self.password):
            raise RegistryConfigError(
                "schema registry: give a username and password or a bearer token, not both")
        if (self.password is not None) != (self.username is not None):
            raise RegistryConfigError("schema registry: a username needs a password and a "
                                      "password a username")
        if self.username is not None and ":" in self.username:
            raise RegistryConfigError("schema registry: the username cannot contain `:`")
        if (self.logical_cluster or self.identity_pool_id) and not self.bearer_token:
            raise RegistryConfigError(
                "schema registry: a logical cluster or identity pool id needs a bearer token")
        if (self.key_location or self.key_password) and not self.certificate_location:
            raise RegistryConfigError(
                "schema registry: a client key needs its certificate (certificate location)")

    def client_conf(self) -> dict[str, Any]:
        """The `SchemaRegistryClient` configuration of these settings."""
        conf: dict[str, Any] = {"url": self.url}
        for key, value in (("ssl.ca.location", self.ca_location),
                           ("ssl.certificate.location", self.certificate_location),
                           ("ssl.key.location", self.key_location),
                           ("ssl.key.password", self.key_password)):
            if value:
                conf[key] = value
        if self.username is not None:
            # Java clients also want basic.auth.credentials.source=USER_INFO; Python's
            # client takes the user info alone (and refuses that key)
            conf["basic.auth.user.info"] = f"{self.username}:{self.password}"
        if self.bearer_token:
            conf["bearer.auth.credentials.source"] = "STATIC_TOKEN"
            conf["bearer.auth.token"] = self.bearer_token
            # the client sends it as `target-sr-cluster`; only Confluent Cloud reads it
            conf["bearer.auth.logical.cluster"] = self.logical_cluster or ""
            if self.identity_pool_id:
                conf["bearer.auth.identity.pool.id"] = self.identity_pool_id
        return {**conf, **self.extra}

    def check_files(self) -> None:
        """Each TLS file named exists (the client's own error names none of them)."""
        for what, path in (("CA bundle", self.ca_location),
                           ("client certificate", self.certificate_location),
                           ("client key", self.key_location)):
            if path and not os.path.exists(path):
                raise RegistryConfigError(f"schema registry: the {what} `{path}` does not exist")

    def topics_of(self, record_name: str) -> list[str]:
        """The full names of the topics that carry `record_name` (short name)."""
        return [self.topic_prefix + topic for topic, names in TOPIC_RECORDS.items()
                if record_name in names]

    def subject(self, record: RecordSchema, topic: str) -> str:
        """The subject of `record` on `topic` (a full topic name)."""
        if self.subject_strategy == "record":
            return record.fullname
        if self.subject_strategy == "topic" and self._single_type(topic):
            return f"{topic}-value"
        return f"{topic}-{record.fullname}"

    def subjects(self, record: RecordSchema, topic: str | None = None) -> list[str]:
        """The subjects `record` is registered under: of `topic` when given, else of every
        topic that carries it (the record name when none does)."""
        if self.subject_strategy == "record":
            return [record.fullname]
        topics = [topic] if topic else self.topics_of(record.name)
        if not topics:
            return [record.fullname]
        return list(dict.fromkeys(self.subject(record, t) for t in topics))

    def _single_type(self, topic: str) -> bool:
        name = topic[len(self.topic_prefix):] if topic.startswith(self.topic_prefix) else topic
        return len(TOPIC_RECORDS.get(name, ())) <= 1


class RegistryCodec(Codec):
    """Records in Confluent's wire format, their schemas in a registry (`mock://...` for
    tests). `prepare()` registers (or checks) every subject at once; `encode` otherwise
    does it on a record type's first use."""

    def __init__(self, settings: RegistrySettings | str, schemas: SchemaSet | None = None, *,
                 client: Any = None):
        super().__init__(schemas)
        self.settings = settings if isinstance(settings, RegistrySettings) else RegistrySettings(settings)
        self.url = self.settings.url
        self.client = client if client is not None else _new_client(self.settings)
        #: (record full name, topic or None) -> the schema id written in its records
        self._ids: dict[tuple[str, str | None], int] = {}
        self._names_by_id: dict[int, str] = {}
        self._deserializers: dict[str, Any] = {}

    # ---------------------------------------------------------------- subjects

    def prepare(self, record_names: list[str] | None = None) -> None:
        """Register (auto-registration on) or look up (off) the schema of every record that
        a topic carries, under all its subjects. With auto-registration off, one error names
        every subject that lacks its schema."""
        names = record_names or sorted({n for ns in TOPIC_RECORDS.values() for n in ns})
        missing: list[str] = []
        for name in names:
            try:
                self._schema_id(self.schema(name), None)
            except SchemaNotRegistered as error:
                missing.extend(error.subjects)
        if missing:
            raise SchemaNotRegistered(
                f"auto-registration is off and the schema registry at {self.url} lacks "
                f"ostinato's schema under {len(missing)} subject(s): {', '.join(missing)}. "
                "Register them (`python -m ostinato.wire register`) or turn auto-registration "
                "on (--schema-registry-auto-register).", missing)

    def _schema_id(self, record: RecordSchema, topic: str | None) -> int:
        key = (record.fullname, topic)
        schema_id = self._ids.get(key)
        if schema_id is None:
            ids, missing = [], []
            for subject in self.settings.subjects(record, topic):
                try:
                    ids.append(self.register_or_find(record, subject))
                except SchemaNotRegistered as error:
                    missing.append(error)
            if missing:
                raise missing[0] if len(missing) == 1 else SchemaNotRegistered(
                    "; ".join(str(error) for error in missing),
                    [s for error in missing for s in error.subjects])
            schema_id = ids[0]
            self._ids[key] = schema_id
            self._names_by_id.setdefault(schema_id, record.name)
        return schema_id

    def register_or_find(self, record: RecordSchema, subject: str) -> int:
        from confluent_kafka.schema_registry import Schema, SchemaRegistryError

        schema = Schema(record.json, "AVRO")
        doing = f"{'registering' if self.settings.auto_register else 'looking up'} the schema " \
                f"of {record.name} under subject `{subject}`"
        try:
            if self.settings.auto_register:
                return int(self.client.register_schema(subject, schema))
            found = self.client.lookup_schema(subject, schema).schema_id
            assert found is not None, "the registry answered a lookup without an id"
            return int(found)
        except SchemaRegistryError as error:
            if not self.settings.auto_register and error.http_status_code == 404:
                raise SchemaNotRegistered(
                    f"auto-registration is off and subject `{subject}` of the schema registry "
                    f"at {self.url} does not have the schema of {record.fullname} this "
                    f"writer uses ({error.error_message})", [subject]) from None
            raise _registry_error(error, doing) from error
        except Exception as error:  # unreachable, TLS, timeouts ...
            raise RegistryUnavailable(f"schema registry at {self.url} failed {doing}: "
                                      f"{type(error).__name__}: {error}") from error

    # ---------------------------------------------------------------- API

    def encode(self, record_name: str, value: dict[str, Any], *, topic: str | None = None) -> bytes:
        """Confluent-framed Avro bytes; `topic` (full name) picks the subject when given,
        else the record is registered under the subjects of every topic that carries it."""
        record = self.schema(record_name)
        body = self._body(record, value)  # EncodeError before any registry call
        return b"\x00" + self._schema_id(record, topic).to_bytes(4, "big") + body

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
        name = self._name_of(schema_id)
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

    def _name_of(self, schema_id: int) -> str:
        """The short record name of a writer schema id (asked of the registry once)."""
        from confluent_kafka.schema_registry import SchemaRegistryError

        name = self._names_by_id.get(schema_id)
        if name is not None:
            return name
        try:
            registered = self.client.get_schema(schema_id)
        except SchemaRegistryError as error:
            if error.http_status_code == 404:
                raise UnknownSchema(
                    f"schema id {schema_id} is not in the registry at {self.url}") from None
            raise _registry_error(error, f"fetching schema id {schema_id}") from error
        except Exception as error:
            raise RegistryUnavailable(
                f"schema registry failed fetching schema id {schema_id}: {error}") from error
        try:
            name = _short(str(json.loads(registered.schema_str or "")["name"]))
        except (ValueError, KeyError, TypeError):
            raise UnknownSchema(f"schema id {schema_id} is not an Avro record schema") from None
        self._names_by_id[schema_id] = name
        return name


def _new_client(settings: RegistrySettings) -> Any:
    from confluent_kafka.schema_registry import SchemaRegistryClient

    settings.check_files()
    try:
        return SchemaRegistryClient.new_client(settings.client_conf())
    except (ValueError, TypeError, OSError) as error:  # ssl.SSLError is an OSError
        raise RegistryConfigError(f"schema registry settings: {error}") from error


def _registry_error(error: Any, doing: str) -> WireError:
    """An incompatible or invalid schema (409, 422) is the writer's fault; anything else
    (unreachable, 5xx, authentication) is the registry's, and is retried."""
    status = getattr(error, "http_status_code", None)
    if status in (409, 422):
        return EncodeError(f"schema registry refused {doing}: {error}")
    return RegistryUnavailable(f"schema registry failed {doing}: {error}")
