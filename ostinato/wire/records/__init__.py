"""Pure conversions between ostinato's objects and the Avro records of `schemas/`, one
module per record family:

- `common`: JSON text fields, instants, labels (what every family shares);
- `executions`: states, task runs, the execution (whole, header, update), changelog keys;
- `events`: decider events (`event_to_record` / `record_to_event`);
- `worker_tasks`, `logs`, `flows`, `triggers`, `dead_letters`: one record each.

The domain types live with their domains (`LogEntry` in `ostinato.execution.logs`,
`FlowRevision` in `ostinato.flow.revisions`, `TriggerEvent` in `ostinato.triggers.events`)
and are re-exported here, so `from ostinato.wire import records as rec; rec.X` keeps working.
"""

from ostinato.execution.logs import LogEntry
from ostinato.flow.revisions import FlowRevision, flow_key
from ostinato.triggers.events import TriggerEvent, trigger_key
from ostinato.wire.records.common import (
    from_json,
    instant,
    instant_of_text,
    labels_from_record,
    labels_record,
    opt_from_json,
    opt_instant,
    opt_json,
    text_of_instant,
    to_json,
)
from ostinato.wire.records.dead_letters import (
    DeadLetter,
    dead_letter_from_record,
    dead_letter_record,
)
from ostinato.wire.records.events import EVENT_RECORDS, event_to_record, record_to_event
from ostinato.wire.records.executions import (
    INTERNAL_PROGRESS,
    VALUES_SUFFIX,
    apply_execution_update,
    apply_task_run_values,
    changelog_key,
    execution_from_changelog,
    execution_from_record,
    PART_RUNS,
    execution_header_record,
    execution_id_of_key,
    execution_part_record,
    execution_record,
    execution_update_record,
    is_partial,
    part_count,
    part_key,
    part_of,
    rebuild_task_outputs,
    state_from_record,
    state_record,
    task_run_from_record,
    task_run_record,
    task_run_records,
    task_run_values_record,
)
from ostinato.wire.records.flows import flow_from_record, flow_record
from ostinato.wire.records.logs import log_entry_from_record, log_entry_of, log_entry_record
from ostinato.wire.records.triggers import trigger_event_from_record, trigger_event_record
from ostinato.wire.records.worker_tasks import (
    WorkerTask,
    task_json,
    worker_task_from_record,
    worker_task_record,
)

__all__ = [
    # common
    "from_json", "instant", "instant_of_text", "labels_from_record", "labels_record",
    "opt_from_json", "opt_instant", "opt_json", "text_of_instant", "to_json",
    # executions
    "INTERNAL_PROGRESS", "VALUES_SUFFIX", "apply_execution_update", "apply_task_run_values",
    "changelog_key", "execution_from_changelog", "execution_from_record",
    "execution_header_record", "execution_record",
    "PART_RUNS", "execution_id_of_key", "execution_part_record", "is_partial", "part_count", "part_key", "part_of", "execution_update_record",
    "rebuild_task_outputs", "state_from_record", "state_record", "task_run_from_record",
    "task_run_record", "task_run_records", "task_run_values_record",
    # events
    "EVENT_RECORDS", "event_to_record", "record_to_event",
    # worker tasks
    "WorkerTask", "task_json", "worker_task_from_record", "worker_task_record",
    # logs
    "LogEntry", "log_entry_from_record", "log_entry_of", "log_entry_record",
    # flows
    "FlowRevision", "flow_from_record", "flow_key", "flow_record",
    # triggers
    "TriggerEvent", "trigger_event_from_record", "trigger_event_record", "trigger_key",
    # dead letters
    "DeadLetter", "dead_letter_from_record", "dead_letter_record",
]
