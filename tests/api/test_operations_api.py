"""Operations: OpenAPI docs, JSON errors, basic auth, CORS, several replicas that agree
(reads and flow revisions), a replica's view surviving its restart."""

from __future__ import annotations

import re
import signal
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ostinato.broker import free_port
from ostinato.cli.stack import LocalStack, ServiceProcess
from tests.api.conftest import ApiServer, wait_until_serving
from tests.api.helpers import YAML, deploy, ended, state_is, wait_execution, wait_until


def test_openapi_docs_are_served(api: ApiServer) -> None:
    docs = api.http.get("/api/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    spec = api.http.get("/api/openapi.json").json()
    paths = spec["paths"]
    for path in ("/api/v1/{tenant}/flows", "/api/v1/{tenant}/executions/{namespace}/{flow_id}",
                 "/api/v1/{tenant}/executions/{execution_id}/follow", "/api/v1/{tenant}/logs/{execution_id}",
                 "/api/v1/{tenant}/executions/webhook/{namespace}/{flow_id}/{key}"):
        assert path in paths, path


def test_errors_are_json_with_message_and_details(api: ApiServer) -> None:
    for answer in (api.http.get("/api/v1/main/nowhere"),
                   api.http.patch(api.url("/flows/a/b")),
                   api.http.get(api.url("/executions/search"), params={"page": "0"})):
        assert answer.status_code in (404, 405, 422), answer.text
        body = answer.json()
        assert set(body) == {"message", "details"} and isinstance(body["details"], list)
    invalid_page = api.http.get(api.url("/executions/search"), params={"page": "0"}).json()
    assert "page" in invalid_page["details"][0]


def _spawn_api(stack: LocalStack, instance: str, env: dict[str, str] | None = None,
               port: int | None = None) -> tuple[ServiceProcess, str]:
    port = port or free_port()
    process = stack.spawn("api", instance=instance, extra=["--port", str(port)], env=env)
    base_url = f"http://127.0.0.1:{port}"
    wait_until_serving(base_url)
    return process, base_url


def _stop(stack: LocalStack, process: ServiceProcess) -> None:
    process.process.send_signal(signal.SIGTERM)
    process.process.wait(20)
    stack.processes.remove(process)


@pytest.fixture
def secured(api: ApiServer) -> Iterator[str]:
    process, base_url = _spawn_api(api.stack, f"secured-{uuid.uuid4().hex[:4]}", {
        "OSTINATO_API_BASIC_AUTH": "ops:p4ss", "OSTINATO_API_CORS_ORIGINS": "https://ui.example"})
    try:
        yield base_url
    finally:
        _stop(api.stack, process)


def test_basic_auth_and_cors(secured: str) -> None:
    search = f"{secured}/api/v1/main/executions/search"
    refused = httpx.get(search)
    assert refused.status_code == 401 and refused.json()["message"].startswith("Unauthorized")
    assert refused.headers["www-authenticate"].startswith("Basic")
    assert httpx.get(search, auth=("ops", "wrong")).status_code == 401
    assert httpx.get(search, auth=("ops", "p4ss")).status_code == 200
    assert httpx.get(f"{secured}/health").status_code == 200, "liveness stays open"
    preflight = httpx.options(search, headers={"Origin": "https://ui.example",
                                               "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://ui.example"
    other = httpx.options(search, headers={"Origin": "https://evil.example",
                                           "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in other.headers


FLOW = """id: replicated
namespace: api.replicas
tasks:
  - id: say
    type: io.kestra.plugin.core.debug.Return
    format: "{message}"
"""


def test_replicas_agree_on_reads_and_on_revisions_written_concurrently(api: ApiServer) -> None:
    process, other = _spawn_api(api.stack, f"replica-{uuid.uuid4().hex[:4]}")
    try:
        flow_id = f"concurrent-{uuid.uuid4().hex[:6]}"
        urls = [api.url("/flows"), f"{other}/api/v1/main/flows"]
        answers: list[tuple[str, int]] = []
        lock = threading.Lock()

        def save(url: str, message: str) -> None:
            source = FLOW.format(message=message).replace("replicated", flow_id)
            answer = httpx.post(url, content=source, headers=YAML, timeout=30)
            assert answer.status_code == 200, answer.text
            with lock:
                answers.append((message, answer.json()["revision"]))

        threads = [threading.Thread(target=save, args=(urls[i % 2], f"m{i}")) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(r for _, r in answers) == list(range(1, 9)), answers
        listed = [httpx.get(f"{base}/api/v1/main/flows/api.replicas/{flow_id}/revisions").json()
                  for base in (api.base_url, other)]
        assert listed[0] == listed[1]
        by_revision = {r["revision"]: r["tasks"][0]["format"] for r in listed[0]}
        assert by_revision == {revision: message for message, revision in answers}

        execution = api.http.post(api.url(f"/executions/api.replicas/{flow_id}"), params={"wait": "true"}).json()
        # each replica follows the topics on its own: the other one converges to the same
        # execution (within its follower's fetch wait), never to another one
        def same_on_other() -> bool:
            seen = httpx.get(f"{other}/api/v1/main/executions/{execution['id']}").json()
            return seen["state"] == execution["state"] and seen["taskRunList"] == execution["taskRunList"]

        wait_until(same_on_other, what="the other replica shows the execution as it ended", timeout=10)
    finally:
        _stop(api.stack, process)


def test_a_replica_restarts_from_its_view(api: ApiServer) -> None:
    deploy(api, FLOW.format(message="kept"))
    instance = f"restarted-{uuid.uuid4().hex[:4]}"
    port = free_port()
    process, other = _spawn_api(api.stack, instance, port=port)
    before = api.http.post(api.url("/executions/api.replicas/replicated"), params={"wait": "true"}).json()
    wait_execution(api, before["id"], ended, what="the first execution")
    assert httpx.get(f"{other}/api/v1/main/executions/{before['id']}").status_code == 200
    _stop(api.stack, process)
    log_file = api.stack.data_dir / "logs" / f"api-{instance}.log"
    while_down = api.http.post(api.url("/executions/api.replicas/replicated"), params={"wait": "true"}).json()
    process, other = _spawn_api(api.stack, instance, port=port)
    try:
        assert _resumed_offsets(log_file)[-1] > 0, "the restarted view read from its stored offsets"
        for execution in (before, while_down):
            again = httpx.get(f"{other}/api/v1/main/executions/{execution['id']}")
            assert again.status_code == 200 and again.json()["state"]["current"] == "SUCCESS"
    finally:
        _stop(api.stack, process)


def _resumed_offsets(log_file: Path) -> list[int]:
    """`resumed_from` of each "view reading" line (JSON or console log format)."""
    out = []
    for line in log_file.read_text().splitlines():
        if "view reading" in line:
            found = re.search(r'resumed_from"?[=:]\s*(\d+)', line)
            assert found, line
            out.append(int(found.group(1)))
    assert len(out) == 2, f"two starts expected in {log_file}"
    assert out[0] == 0
    return out


def test_management_port_serves_ready_and_http_metrics(api: ApiServer) -> None:
    api.http.get(api.url("/executions/search")).raise_for_status()
    log = (api.stack.data_dir / "logs" / "api.log").read_text()
    line = next(line for line in log.splitlines() if "management up" in line)
    found = re.search(r'port"?[=:]\s*(\d+)', line)
    assert found, line
    management = f"http://127.0.0.1:{found.group(1)}"
    assert httpx.get(f"{management}/ready").status_code == 200
    assert httpx.get(f"{management}/health").status_code == 200
    metrics = httpx.get(f"{management}/metrics").text
    assert 'ostinato_http_requests_total{method="GET",route="/api/v1/{tenant}/executions/search",status="200"}' in metrics
    assert "ostinato_http_request_seconds_bucket" in metrics


def test_executions_past_retention_leave_the_view(api: ApiServer) -> None:
    deploy(api, FLOW.format(message="short-lived"))
    deploy(api, """id: waits
namespace: api.replicas
tasks:
  - id: hold
    type: io.kestra.plugin.core.flow.Pause
""")
    process, short = _spawn_api(api.stack, f"retention-{uuid.uuid4().hex[:4]}", {
        "OSTINATO_API_RETENTION": "PT1S", "OSTINATO_API_RETENTION_SWEEP": "0.2"})
    paused_id = None
    try:
        ended_id = httpx.post(f"{short}/api/v1/main/executions/api.replicas/replicated",
                              params={"wait": "true"}, timeout=60).json()["id"]
        paused_id = httpx.post(f"{short}/api/v1/main/executions/api.replicas/waits", timeout=60).json()["id"]
        wait_execution(api, paused_id, state_is("PAUSED"), what="the pause")
        wait_until(lambda: not httpx.get(f"{short}/api/v1/main/logs/{ended_id}").json()
                   and httpx.get(f"{short}/api/v1/main/executions/{ended_id}").status_code == 404,
                   timeout=30, what="the ended execution and its logs left the view")
        assert httpx.get(f"{short}/api/v1/main/executions/{paused_id}").status_code == 200, \
            "an execution that has not ended is kept"
        assert api.http.get(api.url(f"/executions/{ended_id}")).status_code == 200, \
            "a replica without retention keeps it"
    finally:
        _stop(api.stack, process)
        if paused_id is not None:
            api.http.delete(api.url(f"/executions/{paused_id}/kill"))
