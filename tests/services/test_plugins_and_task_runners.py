"""Through the real services: a plugin's task type (the example plugin, installed in the venv
by ./dev) validated by the executor and run by a worker process, beside a broken plugin that
stops neither; a Docker `taskRunner` on a worker without a container engine fails naming it,
or runs as a local process with OSTINATO_DOCKER_FALLBACK=process; the API's validation says
so as a warning."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx

from ostinato.broker.embedded import free_port
from ostinato.cli.stack import LocalStack
from ostinato.execution.model import Execution
from ostinato.harness import ServiceRunner
from tests.plugins.conftest import broken_plugin

GREET = """id: greet
namespace: tests.plugins
inputs:
  - id: who
    type: STRING
tasks:
  - id: hi
    type: com.example.hello.Greet
    name: "{{ inputs.who }}"
    greeting: Bonjour
    times: 2
"""

DOCKER_FLOW = """id: docker_runner
namespace: tests.runners
tasks:
  - id: hello
    type: io.kestra.plugin.scripts.python.Script
    containerImage: python:3.11-slim
    taskRunner:
      type: io.kestra.plugin.scripts.runner.docker.Docker
    script: |
      print("hello from python")
"""


def log_lines(bus: ServiceRunner, execution: Execution, needle: str) -> list[tuple[str, str]]:
    """The execution's log lines once one contains `needle` (logs travel on their own topic)."""
    def found() -> list[tuple[str, str]] | None:
        lines = [(line.level, line.message) for line in bus.logs_of(execution.id)]
        return lines if any(needle in message for _, message in lines) else None

    return list(bus.wait_for(found, what=f"a log line with {needle!r}", timeout=30))


def validate_when_up(base_url: str, source: str, timeout: float = 60.0) -> httpx.Response:
    """POST /flows/validate once the API answers (no scheduler here: /health stays DOWN)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = httpx.post(f"{base_url}/api/v1/main/flows/validate", content=source,
                                headers={"Content-Type": "application/x-yaml"}, timeout=30)
            if answer.status_code == 200 or time.monotonic() > deadline:
                return answer
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def test_a_plugin_task_runs_on_a_worker_beside_a_broken_plugin(
        bare_stack: LocalStack, bare_bus: ServiceRunner, tmp_path: Path) -> None:
    env = {"PYTHONPATH": str(broken_plugin(tmp_path / "site"))}
    bare_stack.spawn("executor", env=env)
    bare_stack.spawn("worker", env=env)
    execution = bare_bus.run(bare_bus.deploy(GREET), {"who": "Ada"}, timeout=60)
    assert execution.state.current == "SUCCESS"
    [run] = execution.task_run_list
    assert run.outputs == {"message": "Bonjour, Ada!", "length": 13}
    lines = log_lines(bare_bus, execution, "Bonjour, Ada!")
    assert lines.count(("INFO", "Bonjour, Ada!")) == 2


def test_a_docker_runner_without_an_engine_fails_and_the_api_warns(
        bare_stack: LocalStack, bare_bus: ServiceRunner) -> None:
    engine = f"no-such-engine-{uuid.uuid4().hex[:8]}"
    env = {"OSTINATO_CONTAINER_ENGINE": engine}
    bare_stack.api_port = free_port()
    bare_stack.spawn("api", env=env)
    bare_stack.spawn("executor", env=env)
    bare_stack.spawn("worker", env=env)

    answer = validate_when_up(f"http://127.0.0.1:{bare_stack.api_port}", DOCKER_FLOW)
    [item] = answer.json()
    assert "constraints" not in item
    [warning] = item["warnings"]
    assert engine in warning and "io.kestra.plugin.core.runner.Process" in warning

    execution = bare_bus.run(bare_bus.deploy(DOCKER_FLOW), timeout=60)
    assert execution.state.current == "FAILED"
    lines = log_lines(bare_bus, execution, "needs a container engine")
    [error] = [m for level, m in lines if level == "ERROR" and "container engine" in m]
    assert engine in error and "taskRunner: {type: io.kestra.plugin.core.runner.Process}" in error


def test_a_docker_runner_falls_back_to_a_local_process_when_asked(
        bare_stack: LocalStack, bare_bus: ServiceRunner) -> None:
    env = {"OSTINATO_CONTAINER_ENGINE": f"no-such-engine-{uuid.uuid4().hex[:8]}",
           "OSTINATO_DOCKER_FALLBACK": "process"}
    bare_stack.spawn("executor", env=env)
    bare_stack.spawn("worker", env=env)
    execution = bare_bus.run(bare_bus.deploy(DOCKER_FLOW), timeout=60)
    assert execution.state.current == "SUCCESS"
    lines = log_lines(bare_bus, execution, "hello from python")
    assert ("INFO", "hello from python") in lines
    assert any(level == "WARN" and "as a local process" in m for level, m in lines)
