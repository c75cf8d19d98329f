"""The recorded event log files (`tests/replay/logs/*.json`): their format, and replay.

A file holds the flow sources of a scenario, every event the decider applied, in order, with
what each decision said (the execution's state and a summary of the commands, EmitLog lines
in full), and the final execution of every execution id in the log (`Execution.to_dict()`).

Events are written as their wire records (`ostinato.wire.event_to_record`), made readable:
a `...Json` text field holds the JSON value it encodes, and an instant is written as
`{"$instant": "<ISO-8601>"}`. `event_of` turns that back into the record and then into the
event (`record_to_event`), so the files go through the same conversion as the bus.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ostinato.decider import decide
from ostinato.decider import events as ev
from ostinato.execution.model import Execution
from ostinato.flow.model import Flow
from ostinato.flow.parser import parse_flow
from ostinato.wire import event_to_record, record_to_event

LOGS_DIR = Path(__file__).parent / "logs"
INSTANT = "$instant"
#: command fields too large or too internal for a summary (the task definition, the
#: variables a worker renders with, a whole source execution)
UNSUMMARISED = frozenset({"task", "variables", "source"})


# ---------------------------------------------------------------- values <-> readable JSON

def readable(value: Any) -> Any:
    """`value` with every datetime written as `{"$instant": iso}` (JSON-safe)."""
    if isinstance(value, datetime):
        return {INSTANT: value.isoformat()}
    if isinstance(value, dict):
        return {key: readable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [readable(item) for item in value]
    return value


def from_readable(value: Any) -> Any:
    """The inverse of `readable`."""
    if isinstance(value, dict):
        if set(value) == {INSTANT}:
            return datetime.fromisoformat(value[INSTANT])
        return {key: from_readable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_readable(item) for item in value]
    return value


def _json_fields_parsed(record: dict[str, Any]) -> dict[str, Any]:
    return {key: json.loads(item) if key.endswith("Json") and isinstance(item, str) else item
            for key, item in record.items()}


def _json_fields_text(record: dict[str, Any]) -> dict[str, Any]:
    return {key: json.dumps(item, separators=(",", ":"), ensure_ascii=False)
            if key.endswith("Json") and item is not None else item
            for key, item in record.items()}


def event_entry(event: ev.Event) -> dict[str, Any]:
    """The readable form of an event: its record name and its fields."""
    name, record = event_to_record(event)
    return {"record": name, "fields": readable(_json_fields_parsed(record))}


def event_of(entry: dict[str, Any]) -> ev.Event:
    """The event of a readable entry (`event_entry`)."""
    record = _json_fields_text(from_readable(entry["fields"]))
    return record_to_event(entry["record"], record)


def command_summary(command: Any) -> dict[str, Any]:
    """A command as its type and its small fields (RunTask also names its task id)."""
    summary: dict[str, Any] = {"command": type(command).__name__}
    for item in dataclasses.fields(command):
        if item.name not in UNSUMMARISED:
            summary[item.name] = getattr(command, item.name)
    task = getattr(command, "task", None)
    if task is not None:
        summary["taskId"] = task.id
    return readable(summary)


def as_recorded(actual: list[dict[str, Any]], recorded: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`actual` commands without the fields a log recorded before they existed does not
    have, when they are unset (None): the protocol gains optional fields compatibly, and a
    field left unset changes nothing a log says. A set value is always compared."""
    out = []
    for index, command in enumerate(actual):
        known = recorded[index] if index < len(recorded) else command
        out.append({k: v for k, v in command.items() if k in known or v is not None})
    return out


def plain(value: Any) -> Any:
    """`value` as it reads back from a JSON file (tuples become lists ...)."""
    return json.loads(json.dumps(readable(value)))


# ---------------------------------------------------------------- the file

@dataclass
class Step:
    """One event and what its decision said."""

    event: dict[str, Any]
    execution_id: str
    state: str | None
    commands: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {"event": self.event, "executionId": self.execution_id, "state": self.state,
                "commands": self.commands}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Step:
        return cls(data["event"], data["executionId"], data["state"], data["commands"])


@dataclass
class RecordedLog:
    """A scenario's recorded event log (the contract kept under `tests/replay/logs`)."""

    scenario: str
    description: str
    flows: list[str]
    steps: list[Step] = field(default_factory=list)
    final: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "description": self.description,
            "flows": [source.strip("\n").split("\n") for source in self.flows],
            "steps": [step.to_json() for step in self.steps],
            "final": self.final,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RecordedLog:
        return cls(data["scenario"], data["description"],
                   ["\n".join(lines) + "\n" for lines in data["flows"]],
                   [Step.from_json(step) for step in data["steps"]], data["final"])

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=1, ensure_ascii=False) + "\n")

    @classmethod
    def read(cls, path: Path) -> RecordedLog:
        return cls.from_json(json.loads(path.read_text()))

    def events(self) -> list[ev.Event]:
        return [event_of(step.event) for step in self.steps]

    def parsed_flows(self) -> dict[tuple[str, str], Flow]:
        flows = [parse_flow(source) for source in self.flows]
        return {(flow.namespace, flow.id): flow for flow in flows}


# ---------------------------------------------------------------- replay

@dataclass
class Replayed:
    """What replaying a log through `decide` gave: a step per event, the final executions,
    and a snapshot (`Execution.to_dict()`) of the event's execution after each step."""

    steps: list[Step]
    final: dict[str, dict[str, Any]]
    snapshots: list[dict[str, Any] | None]


def _flow_for(flows: dict[tuple[str, str], Flow], event: ev.Event,
              execution: Execution | None) -> Flow:
    if isinstance(event, ev.ExecutionRequested):
        return flows[(event.namespace, event.flow_id)]
    if isinstance(event, ev.ExecutionSeeded) and execution is None:
        return flows[(event.source.namespace, event.source.flow_id)]
    assert execution is not None, f"{type(event).__name__} for unknown execution {event.execution_id}"
    return flows[(execution.namespace, execution.flow_id)]


def replay(flows: dict[tuple[str, str], Flow], events: list[ev.Event]) -> Replayed:
    """Apply `events` in order through the pure decider, one execution per id."""
    executions: dict[str, Execution] = {}
    steps: list[Step] = []
    snapshots: list[dict[str, Any] | None] = []
    for event in events:
        execution = executions.get(event.execution_id)
        decision = decide(_flow_for(flows, event, execution), execution, event)
        after = decision.execution
        if after is not None:
            executions[after.id] = after
        snapshots.append(copy.deepcopy(after.to_dict()) if after is not None else None)
        steps.append(Step(
            event=event_entry(event), execution_id=event.execution_id,
            state=None if after is None else after.state.current,
            commands=[command_summary(command) for command in decision.commands],
        ))
    final = {key: plain(execution.to_dict()) for key, execution in sorted(executions.items())}
    return Replayed(steps, final, snapshots)
