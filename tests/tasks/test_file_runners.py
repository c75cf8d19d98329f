"""The storage.*, http.Download and log.Fetch runners on a local storage (no broker)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ostinato.execution.logs import LogEntry
from ostinato.flow.tasks import Task
from ostinato.storage import LocalStorage
from ostinato.storage.scope import ScopedStorage, scope_of
from ostinato.tasks import RunContext, run_task
from ostinato.tasks.log_fetch import LOGS_SOURCE
from ostinato.tasks.storage.items import read_items

NOW = datetime(2024, 1, 2, tzinfo=UTC)


def _task(**fields: Any) -> Task:
    return Task.model_validate({"id": "t", **fields})


@pytest.fixture
def storage(tmp_path: Path) -> ScopedStorage:
    return ScopedStorage(LocalStorage(tmp_path), scope_of("io.kestra.tests", "f", "e1", None))


def _ctx(storage: ScopedStorage, **services: Any) -> RunContext:
    variables = {"flow": {"namespace": "io.kestra.tests", "id": "f"}, "execution": {"id": "e1"},
                 "taskrun": {"id": "r1"}}
    return RunContext(variables=variables, storage=storage, clock=lambda: NOW, services=services)


def _run(storage: ScopedStorage, **fields: Any) -> Any:
    return run_task(_task(**fields), _ctx(storage))


def _write(storage: ScopedStorage, text: str) -> str:
    return storage.put("io/kestra/tests/f/executions/e1/in.ion", text.encode())


def test_delete_reports_a_missing_file_and_fails_when_asked(storage: ScopedStorage) -> None:
    uri = "kestra:///io/kestra/tests/f/executions/e1/nothing.txt"
    kind = "io.kestra.plugin.core.storage.Delete"
    assert _run(storage, type=kind, uri=uri).outputs == {"uri": uri, "deleted": False}
    failed = _run(storage, type=kind, uri=uri, errorOnMissing=True)
    assert failed.state == "FAILED" and "Unable to find file" in failed.logs[-1].message


def test_delete_of_another_namespace_is_refused(storage: ScopedStorage) -> None:
    outcome = _run(storage, type="io.kestra.plugin.core.storage.Delete",
                   uri="kestra:///other/f/executions/e9/x.txt")
    assert outcome.state == "FAILED" and "may not be deleted" in outcome.logs[-1].message


def test_filter_fails_on_an_error_by_default(storage: ScopedStorage) -> None:
    uri = _write(storage, '{"a":1}\n{"b":2}\n')
    kind = "io.kestra.plugin.core.storage.FilterItems"
    failed = _run(storage, type=kind, **{"from": uri}, filterCondition="{{ a == 1 }}")
    assert failed.state == "FAILED"
    kept = _run(storage, type=kind, **{"from": uri}, filterCondition="{{ a == 1 }}",
                errorOrNullBehavior="INCLUDE")
    assert kept.outputs["processedItemsTotal"] == 2 and kept.outputs["droppedItemsTotal"] == 0


def test_deduplicate_reads_kestra_ion(storage: ScopedStorage) -> None:
    uri = _write(storage, '{id:1,v:"a"}\n{id:2,v:"b"}\n{id:1,v:"c"}\n')
    out = _run(storage, type="io.kestra.plugin.core.storage.DeduplicateItems",
               **{"from": uri}, expr="{{ id }}").outputs
    lines = storage.get(out["uri"]).decode().splitlines()
    assert list(read_items(lines)) == [{"id": 2, "v": "b"}, {"id": 1, "v": "c"}]
    assert out["numKeys"] == 2


def test_concat_takes_a_json_list(storage: ScopedStorage) -> None:
    a = storage.put("io/kestra/tests/f/executions/e1/a.txt", b"A")
    b = storage.put("io/kestra/tests/f/executions/e1/b.txt", b"B")
    out = _run(storage, type="io.kestra.plugin.core.storage.Concat", files=f'["{a}", "{b}"]',
               separator=",", extension=".csv").outputs
    assert storage.get(out["uri"]) == b"A,B," and out["uri"].endswith(".csv")


def test_log_fetch_filters_by_level_and_task(storage: ScopedStorage) -> None:
    entries = [LogEntry("io.kestra.tests", "f", "e1", level, f"{task} {level}", NOW, "r", task)
               for task in ("a", "b") for level in ("DEBUG", "INFO", "ERROR")]
    task = _task(type="io.kestra.plugin.core.log.Fetch", level="INFO", tasksId=["b"])
    outcome = run_task(task, _ctx(storage, **{LOGS_SOURCE: lambda execution_id: entries}))
    items = list(read_items(storage.get(outcome.outputs["uri"]).decode().splitlines()))
    assert [i["message"] for i in items] == ["b INFO", "b ERROR"] and outcome.outputs["size"] == 2


def test_log_fetch_of_another_namespace_is_refused(storage: ScopedStorage) -> None:
    task = _task(type="io.kestra.plugin.core.log.Fetch", namespace="other", executionId="x")
    outcome = run_task(task, _ctx(storage, **{LOGS_SOURCE: lambda execution_id: []}))
    assert outcome.state == "FAILED" and "out of this execution's reach" in outcome.logs[-1].message


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/empty":
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path == "/missing":
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b"report"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Disposition", 'attachment; filename="../../report 1.txt"')
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


def test_download_names_the_file_from_content_disposition(storage: ScopedStorage, server: str) -> None:
    out = _run(storage, type="io.kestra.plugin.core.http.Download", uri=f"{server}/file").outputs
    assert out["uri"].endswith("/report%201.txt") and out["code"] == 200 and out["length"] == 6
    assert storage.get(out["uri"]) == b"report"


def test_download_fails_on_empty_and_on_404(storage: ScopedStorage, server: str) -> None:
    kind = "io.kestra.plugin.core.http.Download"
    empty = _run(storage, type=kind, uri=f"{server}/empty")
    assert empty.state == "FAILED" and "No response from server" in empty.logs[-1].message
    allowed = _run(storage, type=kind, uri=f"{server}/empty", failOnEmptyResponse=False)
    assert allowed.state == "SUCCESS" and allowed.outputs["length"] == 0
    missing = _run(storage, type=kind, uri=f"{server}/missing")
    assert missing.state == "FAILED" and "'404'" in missing.logs[-1].message
