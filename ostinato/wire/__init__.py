"""The wire format: Avro records on the bus (schemas in `schemas/`), their codecs, and
the conversions between them and ostinato's objects.

    codec = default_codec()
    name, record = event_to_record(event)
    data = codec.encode(name, record)
    name, record = codec.decode(data)          # MalformedRecord -> dead-letter it
    event = record_to_event(name, record)
"""

from ostinato.wire.codec import (
    Codec,
    EncodeError,
    MalformedRecord,
    RegistryUnavailable,
    UnknownSchema,
    WireError,
    codec_for,
    default_codec,
)
from ostinato.wire.records import (
    EVENT_RECORDS,
    DeadLetter,
    FlowRevision,
    LogEntry,
    TriggerEvent,
    WorkerTask,
    apply_execution_update,
    changelog_key,
    dead_letter_from_record,
    dead_letter_record,
    event_to_record,
    execution_from_changelog,
    execution_from_record,
    execution_header_record,
    execution_record,
    execution_update_record,
    flow_from_record,
    flow_key,
    flow_record,
    log_entry_from_record,
    log_entry_of,
    log_entry_record,
    rebuild_task_outputs,
    record_to_event,
    task_run_from_record,
    task_run_record,
    task_run_records,
    trigger_event_from_record,
    trigger_event_record,
    trigger_key,
    worker_task_from_record,
    worker_task_record,
)
from ostinato.wire.registry import (
    RegistryCodec,
    RegistryConfigError,
    RegistrySettings,
    SchemaNotRegistered,
)
from ostinato.wire.schemas import RecordSchema, SchemaError, SchemaSet

__all__ = [
    "EVENT_RECORDS", "Codec", "DeadLetter", "EncodeError", "FlowRevision", "LogEntry",
    "MalformedRecord", "RecordSchema", "RegistryCodec", "RegistryConfigError", "RegistrySettings",
    "RegistryUnavailable", "SchemaError", "SchemaNotRegistered",
    "SchemaSet", "TriggerEvent", "UnknownSchema", "WireError", "WorkerTask",
    "apply_execution_update", "changelog_key", "codec_for", "dead_letter_from_record",
    "dead_letter_record", "default_codec", "event_to_record", "execution_from_changelog",
    "execution_from_record", "execution_header_record", "execution_record",
    "execution_update_record", "flow_from_record", "flow_key", "flow_record",
    "log_entry_from_record", "log_entry_of", "log_entry_record", "rebuild_task_outputs",
    "record_to_event", "task_run_from_record", "task_run_record", "task_run_records",
    "trigger_event_from_record", "trigger_event_record", "trigger_key",
    "worker_task_from_record", "worker_task_record",
]
