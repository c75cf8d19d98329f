"""The API's view: executions, their summaries and logs, with the offsets they were read
up to, all written in one RocksDB batch (so a restart resumes exactly where it stopped).

Keys:  h/<executionId>                         ExecutionHeader record (Avro)
       r/<executionId>/<index>                 TaskRun record (Avro), index zero-padded: an
                                               update writes only the runs it changed
       s/<executionId>                         summary JSON (what a search filters and sorts on)
       f/<flowId>/<namespace>/<executionId>    the same summary, by flow (a search of one flow
                                               reads only that flow's executions)
       l/<executionId>/<partition>/<offset>    log entry JSON (zero-padded: key order = log order)
       o/<topic>/<partition>                   next offset to read (decimal text)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from rocksdict import Snapshot, WriteBatch

from ostinato.store.rocks import open_raw, scan


def _k(*parts: object) -> bytes:
    return "/".join(str(p) for p in parts).encode()


def _get(snapshot: Snapshot, key: bytes) -> bytes | None:
    try:
        return bytes(snapshot[key])
    except Exception:  # noqa: BLE001 (rocksdict raises a bare Exception for a missing key)
        return None


def log_key(execution_id: str, partition: int, offset: int) -> bytes:
    return _k("l", execution_id, f"{partition:04d}", f"{offset:020d}")


@dataclass
class ViewBatch:
    #: execution id -> its ExecutionHeader record
    headers: dict[str, bytes] = field(default_factory=dict)
    #: (execution id, index) -> a TaskRun record
    runs: dict[tuple[str, int], bytes] = field(default_factory=dict)
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    logs: dict[bytes, dict[str, Any]] = field(default_factory=dict)
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.headers or self.runs or self.summaries or self.logs or self.offsets)


class ViewStore:
    """RocksDB under `path`; one per API process."""

    def __init__(self, path: Path) -> None:
        self._db = open_raw(path)

    def close(self) -> None:
        self._db.close()

    def execution(self, execution_id: str,
                  run_count: Callable[[bytes], int]) -> tuple[bytes, list[bytes]] | None:
        """The header and the task-run records of an execution (in index order), read from
        one snapshot, so a batch written meanwhile is seen whole or not at all. Runs are
        fetched by index (`run_count` reads their number from the header): a snapshot's
        point reads are consistent, its iterators in rocksdict are not."""
        snapshot = self._db.snapshot()
        header = _get(snapshot, _k("h", execution_id))
        if header is None:
            return None
        runs = []
        for index in range(run_count(header)):
            run = _get(snapshot, _k("r", execution_id, f"{index:06d}"))
            if run is None:
                raise ValueError(f"execution {execution_id}: task run {index} is not in the view")
            runs.append(run)
        return header, runs

    def summary(self, execution_id: str) -> dict[str, Any] | None:
        value = self._db.get(_k("s", execution_id))
        return None if value is None else dict(json.loads(bytes(value)))

    def summaries(self, flow_id: str | None = None) -> Iterator[dict[str, Any]]:
        """Every execution's summary, or only those of flows with this id (any namespace)."""
        prefix = b"s/" if flow_id is None else _k("f", flow_id) + b"/"
        for _, value in self._scan(prefix):
            yield json.loads(value)

    def logs(self, execution_id: str) -> Iterator[tuple[bytes, dict[str, Any]]]:
        for key, value in self._scan(_k("l", execution_id) + b"/"):
            yield key, json.loads(value)

    def offset(self, topic: str, partition: int) -> int:
        value = self._db.get(_k("o", topic, partition))
        return 0 if value is None else int(bytes(value).decode())

    def write(self, batch: ViewBatch) -> None:
        """Apply a batch and its offsets atomically."""
        if not batch:
            return
        wb = WriteBatch(raw_mode=True)
        for execution_id, value in batch.headers.items():
            wb.put(_k("h", execution_id), value)
        for (execution_id, index), value in batch.runs.items():
            wb.put(_k("r", execution_id, f"{index:06d}"), value)
        for execution_id, summary in batch.summaries.items():
            value = json.dumps(summary).encode()
            wb.put(_k("s", execution_id), value)
            wb.put(_k("f", summary["flowId"], summary["namespace"], execution_id), value)
        for key, entry in batch.logs.items():
            wb.put(key, json.dumps(entry).encode())
        for (topic, partition), offset in batch.offsets.items():
            wb.put(_k("o", topic, partition), str(offset).encode())
        self._db.write(wb)

    def forget(self, summary: dict[str, Any]) -> None:
        """Delete an execution, its summaries and its logs (retention)."""
        execution_id = summary["id"]
        wb = WriteBatch(raw_mode=True)
        wb.delete(_k("h", execution_id))
        wb.delete(_k("s", execution_id))
        runs = _k("r", execution_id) + b"/"
        wb.delete_range(runs, runs[:-1] + b"0")
        wb.delete(_k("f", summary["flowId"], summary["namespace"], execution_id))
        logs = _k("l", execution_id) + b"/"
        wb.delete_range(logs, logs[:-1] + b"0")  # "0" follows "/": every key under l/<id>/
        self._db.write(wb)

    def _scan(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        return scan(self._db, prefix)
