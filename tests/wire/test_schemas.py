"""The schema files: conventions, consistency, releases."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

import pytest
from fastavro import parse_schema

from ostinato.wire.schemas import (
    NAMESPACE,
    SchemaError,
    default_schemas_dir,
    load_current,
    load_history,
    load_raw,
    unreleased,
)

SCHEMAS = default_schemas_dir()
BUS_RECORDS = {
    "Flow", "ExecutionRequested", "WorkerTask", "WorkerTaskResult", "SubflowResult",
    "TimerFired", "Kill", "Resume", "Restart", "TriggerEvent", "LogEntry", "TaskRun",
    "Execution", "ExecutionHeader", "ExecutionUpdate", "DeadLetter",
}


def fields(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(record name, field) of every record defined in an expanded schema."""
    def walk(node: Any) -> Iterator[tuple[str, dict[str, Any]]]:
        if isinstance(node, list):
            for branch in node:
                yield from walk(branch)
        elif isinstance(node, dict):
            if node.get("type") == "record":
                for item in node["fields"]:
                    yield node["name"], item
                    yield from walk(item["type"])
            elif node.get("type") == "array":
                yield from walk(node["items"])
    yield from walk(schema)


def test_the_schemas_folder_is_found() -> None:
    assert SCHEMAS == Path(__file__).resolve().parents[2] / "schemas"


def test_the_schemas_folder_can_be_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OSTINATO_SCHEMAS_DIR", str(tmp_path))
    assert default_schemas_dir() == tmp_path


def test_every_bus_record_has_a_file_and_a_release() -> None:
    current = {r.name for r in load_current(SCHEMAS)}
    assert BUS_RECORDS <= current
    released = {r.name for r in load_history(SCHEMAS / "history")}
    assert current <= released


def test_every_current_schema_is_released() -> None:
    """Changing a schema means releasing it: `python -m ostinato.wire freeze`."""
    pending = [f"{r.name} (would be v{v})" for r, v in unreleased(SCHEMAS)]
    assert not pending, f"unreleased schema changes: {pending}; run `python -m ostinato.wire freeze`"


def test_conventions() -> None:
    for name, raw in load_raw(SCHEMAS).items():
        assert raw["namespace"] == NAMESPACE and raw.get("doc"), name
    for record in load_current(SCHEMAS):
        for owner, item in fields(record.schema):
            where = f"{record.name}: {owner}.{item['name']}"
            assert re.fullmatch(r"[a-z][a-zA-Z0-9]*", item["name"]), where
            kind = item["type"]
            if isinstance(kind, list):
                assert kind[0] == "null" and "default" in item and item["default"] is None, where
            if item["name"].endswith("Json"):
                assert kind in ("string", ["null", "string"]), where
            if re.search(r"(Date|date|^at|deadline|updated|timestamp|fireAt)$", item["name"]):
                branch = kind[1] if isinstance(kind, list) else kind
                assert branch == {"type": "long", "logicalType": "timestamp-micros"}, where


def test_history_files_are_self_contained() -> None:
    for path in sorted((SCHEMAS / "history").glob("*.avsc")):
        parse_schema(json.loads(path.read_text()))  # no named_schemas: nothing to look up


def test_execution_records_share_their_header() -> None:
    by_name = {r.name: r.schema for r in load_current(SCHEMAS)}

    def names(record: str) -> list[str]:
        return [f["name"] for f in by_name[record]["fields"]]

    header = names("ExecutionHeader")
    assert header[-1] == "taskRunCount"
    assert names("Execution") == header[:-1] + ["taskRunList", "partIndex", "partCount"]
    assert names("ExecutionUpdate") == header + ["taskRuns"]
    # the same fields, types, defaults and docs
    common = by_name["ExecutionHeader"]["fields"][:-1]
    assert by_name["Execution"]["fields"][:-3] == common
    assert by_name["ExecutionUpdate"]["fields"][:-1] == by_name["ExecutionHeader"]["fields"]


def test_a_missing_type_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "Broken.avsc").write_text(json.dumps({
        "type": "record", "name": "Broken", "namespace": NAMESPACE,
        "fields": [{"name": "state", "type": "Nowhere"}]}))
    with pytest.raises(SchemaError, match="unknown type `Nowhere`"):
        load_current(tmp_path)
    (tmp_path / "Broken.avsc").write_text(json.dumps({
        "type": "record", "name": "Other", "namespace": NAMESPACE, "fields": []}))
    with pytest.raises(SchemaError, match="expected Broken"):
        load_current(tmp_path)
