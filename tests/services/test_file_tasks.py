"""WorkingDirectory, LocalFiles, storage.*, http.Download and log.Fetch through the real
executor and worker. Flows are Kestra's (core/src/test/resources/flows/valids/working-
directory*.y*ml, the tasks' documented examples) with only their namespace changed."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ostinato.harness import ServiceRunner
from ostinato.storage import LocalStorage
from ostinato.tasks.storage.items import read_items

# Kestra's working-directory.yaml
WORKING_DIRECTORY = """
id: working-directory
namespace: {ns}
inputs:
  - id: failed
    type: STRING
tasks:
  - id: worker
    type: io.kestra.plugin.core.flow.WorkingDirectory
    tasks:
      - id: first
        type: io.kestra.plugin.core.storage.LocalFiles
        inputs:
          out/stay.txt: "{{{{ inputs.failed == 'true' ? ko: taskrun.id }}}}"
      - id: second
        type: io.kestra.plugin.core.storage.LocalFiles
        outputs:
          - out/*
      - id: disabled
        type: io.kestra.plugin.core.debug.Return
        disabled: true
    errors:
      - id: error-t1
        type: io.kestra.plugin.core.debug.Return
        format: "Error Trigger ! {{{{task.id}}}}"
  - id: 2_end
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ outputs.second.uris['out/stay.txt'] }}}}"
"""

# WorkingDirectory's documented example, with outputFiles and inputFiles as in its second one
SCRIPTS = """
id: working_directory
namespace: {ns}
tasks:
  - id: working_directory
    type: io.kestra.plugin.core.flow.WorkingDirectory
    inputFiles:
      query.sql: SELECT sum(total) FROM sales;
    outputFiles:
      - stay.txt
    tasks:
      - id: first
        type: io.kestra.plugin.scripts.shell.Commands
        commands:
        - 'echo "{{{{ taskrun.id }}}}" > {{{{ workingDir }}}}/stay.txt'
      - id: second
        type: io.kestra.plugin.scripts.shell.Commands
        commands:
        - |
          echo '::{{"outputs": {{"stay":"'$(cat {{{{ workingDir }}}}/stay.txt)'", "sql":"'"$(cat query.sql)"'"}}}}::'
"""

STORAGE = """
id: storage_tasks
namespace: {ns}
tasks:
  - id: write
    type: io.kestra.plugin.core.storage.Write
    content: |
      {{"key":"a","v":1}}
      {{"key":"b","v":2}}
      {{"key":"a","v":3}}
      {{"key":"c","v":null}}
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: '["value1", "value2", "value3"]'
    tasks:
      - id: part
        type: io.kestra.plugin.core.storage.Write
        content: "{{{{ taskrun.value }}}}"
        extension: .txt
  - id: concat
    type: io.kestra.plugin.core.storage.Concat
    files:
      - "{{{{ outputs.part.value1.uri }}}}"
      - "{{{{ outputs.part.value2.uri }}}}"
      - "{{{{ outputs.part.value3.uri }}}}"
    separator: "\\n"
  - id: split
    type: io.kestra.plugin.core.storage.Split
    from: "{{{{ outputs.write.uri }}}}"
    rows: 2
  - id: size
    type: io.kestra.plugin.core.storage.Size
    uri: "{{{{ outputs.write.uri }}}}"
  - id: deduplicate
    type: io.kestra.plugin.core.storage.DeduplicateItems
    from: "{{{{ outputs.write.uri }}}}"
    expr: "{{{{ key }}}}"
  - id: filter
    type: io.kestra.plugin.core.storage.FilterItems
    from: "{{{{ outputs.write.uri }}}}"
    filterCondition: " {{{{ v == null }}}}"
    filterType: EXCLUDE
    errorOrNullBehavior: EXCLUDE
  - id: delete
    type: io.kestra.plugin.core.storage.Delete
    uri: "{{{{ outputs.concat.uri }}}}"
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: a warning for the fetch
    level: WARN
  - id: fetch
    type: io.kestra.plugin.core.log.Fetch
    level: WARN
    executionId: "{{{{ execution.id }}}}"
    tasksId:
      - log
"""

PURGE = """
id: purge
namespace: {ns}
tasks:
  - id: write
    type: io.kestra.plugin.core.storage.Write
    content: hello
  - id: purge
    type: io.kestra.plugin.core.storage.PurgeCurrentExecutionFiles
"""

DOWNLOAD = """
id: download
namespace: {ns}
tasks:
  - id: extract
    type: io.kestra.plugin.core.http.Download
    uri: {url}/orders.csv
  - id: size
    type: io.kestra.plugin.core.storage.Size
    uri: "{{{{ outputs.extract.uri }}}}"
"""


def _ns() -> str:
    return f"files.t{uuid.uuid4().hex[:8]}"


def _storage(bus: ServiceRunner) -> LocalStorage:
    return bus.storage


def test_working_directory_children_share_files(bus: ServiceRunner) -> None:
    flow = bus.deploy(WORKING_DIRECTORY.format(ns=_ns()))
    execution = bus.run(flow, {"failed": "false"})
    assert execution.state.current == "SUCCESS"
    assert len(execution.task_run_list) == 4  # as Kestra's WorkingDirectoryTest.success
    runs = {run.task_id: run for run in execution.task_run_list}
    uri = runs["2_end"].outputs["value"]
    assert _storage(bus).get(uri).decode() == runs["first"].id


def test_working_directory_failure_runs_errors(bus: ServiceRunner) -> None:
    flow = bus.deploy(WORKING_DIRECTORY.format(ns=_ns()))
    execution = bus.run(flow, {"failed": "true"})
    assert execution.state.current == "FAILED"
    runs = {run.task_id: run for run in execution.task_run_list}
    assert runs["first"].state.current == "FAILED"
    assert runs["error-t1"].state.current == "SUCCESS"
    assert "second" not in runs and "2_end" not in runs


def test_scripts_share_the_directory_and_output_files(bus: ServiceRunner) -> None:
    execution = bus.run(bus.deploy(SCRIPTS.format(ns=_ns())))
    assert execution.state.current == "SUCCESS", (execution.error_logs,
                                                  [(r.task_id, r.state.current) for r in execution.task_run_list])
    runs = {run.task_id: run for run in execution.task_run_list}
    assert runs["second"].outputs["vars"] == {"stay": runs["first"].id,
                                              "sql": "SELECT sum(total) FROM sales;"}
    uri = runs["working_directory"].outputs["outputFiles"]["stay.txt"]
    assert _storage(bus).get(uri).decode().strip() == runs["first"].id


def test_storage_tasks(bus: ServiceRunner) -> None:
    execution = bus.run(bus.deploy(STORAGE.format(ns=_ns())))
    assert execution.state.current == "SUCCESS", [l.message for l in bus.logs_of(execution.id)]
    runs = {run.task_id: run for run in execution.task_run_list}
    storage = _storage(bus)

    def items(task: str) -> list[object]:
        return list(read_items(storage.get(runs[task].outputs["uri"]).decode().splitlines()))

    assert runs["write"].outputs["uri"].endswith(".ion")
    assert runs["concat"].outputs["uri"].endswith(".tmp")
    assert [len(storage.get(u).decode().splitlines()) for u in runs["split"].outputs["uris"]] == [2, 2]
    assert runs["size"].outputs["size"] == len(storage.get(runs["write"].outputs["uri"]))
    assert items("deduplicate") == [{"key": "b", "v": 2}, {"key": "a", "v": 3}, {"key": "c", "v": None}]
    assert runs["deduplicate"].outputs["droppedItemsTotal"] == 1
    assert items("filter") == [{"key": "a", "v": 1}, {"key": "b", "v": 2}, {"key": "a", "v": 3}]
    assert runs["delete"].outputs["deleted"] is True
    assert not storage.exists(runs["concat"].outputs["uri"])
    fetched = items("fetch")
    assert runs["fetch"].outputs["size"] == 1
    assert fetched[0]["message"] == "a warning for the fetch" and fetched[0]["level"] == "WARN"


def test_purge_current_execution_files(bus: ServiceRunner) -> None:
    execution = bus.run(bus.deploy(PURGE.format(ns=_ns())))
    assert execution.state.current == "SUCCESS"
    runs = {run.task_id: run for run in execution.task_run_list}
    uri = runs["write"].outputs["uri"]
    assert uri in runs["purge"].outputs["uris"]
    assert not _storage(bus).exists(uri)


class _Csv(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        body = b"id,total\n1,10\n2,20\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Csv)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


def test_http_download(bus: ServiceRunner, server: str) -> None:
    execution = bus.run(bus.deploy(DOWNLOAD.format(ns=_ns(), url=server)))
    assert execution.state.current == "SUCCESS", [l.message for l in bus.logs_of(execution.id)]
    runs = {run.task_id: run for run in execution.task_run_list}
    out = runs["extract"].outputs
    assert out["code"] == 200 and out["length"] == 19 and out["uri"].endswith(".csv")
    assert _storage(bus).get(out["uri"]) == b"id,total\n1,10\n2,20\n"
    assert runs["size"].outputs["size"] == 19
