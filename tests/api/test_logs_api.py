"""Logs over HTTP: JSON with filters, the whole text download, live follow."""

from __future__ import annotations

from tests.api.conftest import ApiServer
from tests.api.helpers import deploy, read_events, wait_until

CHATTY = """id: chatty
namespace: api.logs
tasks:
  - id: lines
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    commands:
      - for i in $(seq 1 2000); do echo "line $i"; done
  - id: warn
    type: io.kestra.plugin.core.log.Log
    level: WARN
    message: careful
"""


def test_a_2000_line_log_downloads_whole(api: ApiServer) -> None:
    deploy(api, CHATTY)
    execution = api.http.post(api.url("/executions/api.logs/chatty"), params={"wait": "true"}).json()
    assert execution["state"]["current"] == "SUCCESS"

    def download() -> list[str] | None:
        # the API's view reads `logs` on its own: the last lines may land just after the end
        text = api.http.get(api.url(f"/logs/{execution['id']}/download"))
        assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")
        lines = text.text.splitlines()
        return lines if lines and lines[-1].endswith("WARN careful") else None

    lines = wait_until(download, what="every log line in the download", timeout=10)
    numbered = [line for line in lines if " INFO line " in line]
    assert [line.rsplit(" ", 1)[1] for line in numbered] == [str(i) for i in range(1, 2001)]


def test_logs_filter_by_level_and_task_run(api: ApiServer) -> None:
    deploy(api, CHATTY)
    execution = api.http.post(api.url("/executions/api.logs/chatty"), params={"wait": "true"}).json()
    logs = api.url(f"/logs/{execution['id']}")
    # the API's view reads `logs` on its own: wait until the last line has arrived
    everything = wait_until(lambda: (found := api.http.get(logs).json()) and len(found) >= 2001
                            and found, what="every log line", timeout=10)
    assert {"namespace", "flowId", "taskId", "executionId", "taskRunId", "attemptNumber",
            "timestamp", "level", "message"} <= set(everything[0])
    warnings = api.http.get(logs, params={"minLevel": "WARN"}).json()
    assert [(e["taskId"], e["message"]) for e in warnings] == [("warn", "careful")]
    lines_run = [r["id"] for r in execution["taskRunList"] if r["taskId"] == "lines"][0]
    of_run = api.http.get(logs, params={"taskRunId": lines_run}).json()
    assert {e["taskId"] for e in of_run} == {"lines"} and len(of_run) >= 2000
    bad = api.http.get(logs, params={"minLevel": "LOUD"})
    assert bad.status_code == 422 and "LOUD" in bad.json()["details"][0]


def test_follow_logs_streams_until_the_execution_ended(api: ApiServer) -> None:
    deploy(api, """id: ticking
namespace: api.logs
tasks:
  - id: first
    type: io.kestra.plugin.core.log.Log
    message: first
  - id: pause
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT0.5S
  - id: second
    type: io.kestra.plugin.core.log.Log
    message: second
""")
    execution_id = api.http.post(api.url("/executions/api.logs/ticking")).json()["id"]
    events = read_events(api, f"/logs/{execution_id}/follow?minLevel=INFO")
    assert {event_id for event_id, _ in events} == {"progress"}
    assert [data["message"] for _, data in events] == ["first", "second"]
