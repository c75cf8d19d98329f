"""`taskRunner`: the Docker runner's command line, its run through an engine CLI, its failure
and fallback without one, and the validation warning. Real subprocesses, no mocks: the
"engine" of the run test is a small script standing in for the docker CLI."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ostinato.cli.flows import validate as validate_command
from ostinato.flow.parser import validate_flow_with_warnings
from ostinato.flow.tasks import Task
from ostinato.tasks import RunContext, TaskOutcome, run_task
from ostinato.tasks.scripts.container import ContainerPlan, container_command

DOCKER = {"type": "io.kestra.plugin.scripts.runner.docker.Docker"}
PROCESS = {"type": "io.kestra.plugin.core.runner.Process"}
IMAGE = "python:3.11-slim"

FLOW = """id: docker_runner
namespace: company.team
tasks:
  - id: hello
    type: io.kestra.plugin.scripts.python.Script
    containerImage: python:3.11-slim
    taskRunner:
      type: {runner}
    script: |
      print("hello")
"""

# Stands in for the docker CLI: `info` answers; `run` records its arguments and runs what
# follows the image locally, in the `-w` directory with the `-e` variables.
FAKE_ENGINE = f"""#!{sys.executable}
import json, os, subprocess, sys
args = sys.argv[1:]
if args[:1] == ["info"]:
    sys.exit(0)
with open(os.environ["FAKE_ENGINE_LOG"], "w") as f:
    json.dump(args, f)
image = args.index(os.environ["FAKE_ENGINE_IMAGE"])
env = {{"PATH": os.environ["PATH"]}}
cwd = None
for flag, value in zip(args[:image], args[1:image]):
    if flag == "-e":
        key, _, val = value.partition("=")
        env[key] = val
    if flag == "-w":
        cwd = value
sys.exit(subprocess.run(args[image + 1:], cwd=cwd, env=env).returncode)
"""


def run(data: dict[str, Any]) -> TaskOutcome:
    task = Task.model_validate({"id": "t", **data})
    return run_task(task, RunContext(variables={"flow": {"namespace": "company.team"}}))


def messages(outcome: TaskOutcome, level: str) -> list[str]:
    return [line.message for line in outcome.logs if line.level == level]


@pytest.fixture
def no_engine(monkeypatch: pytest.MonkeyPatch) -> str:
    """An engine name that is on no PATH (so the probe, cached per name, finds none)."""
    name = f"no-such-engine-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("OSTINATO_CONTAINER_ENGINE", name)
    monkeypatch.delenv("OSTINATO_DOCKER_FALLBACK", raising=False)
    return name


def test_the_command_line_mounts_the_workspace_and_passes_env_and_options() -> None:
    plan = ContainerPlan("/usr/bin/docker", IMAGE, {
        "user": "1000:1000", "networkMode": "host", "pullPolicy": "ALWAYS",
        "cpu": {"cpus": 1.5}, "memory": {"memory": "512MB"}, "volumes": ["/data:/data"]})
    argv = container_command(
        plan, ["/bin/sh", "-c", "echo hi"], name="ostinato-x",
        mounts=[Path("/tmp/ws"), Path("/tmp/ws/work")], working_dir=Path("/tmp/ws/work"),
        env={"PATH": "/host/bin", "HOME": "/root", "WORKING_DIR": "/tmp/ws/work", "A": "b c"})
    assert argv == [
        "/usr/bin/docker", "run", "--rm", "--name", "ostinato-x", "--entrypoint", "",
        "-v", "/tmp/ws:/tmp/ws", "-v", "/tmp/ws/work:/tmp/ws/work", "-w", "/tmp/ws/work",
        "-e", "WORKING_DIR=/tmp/ws/work", "-e", "A=b c",
        "--user", "1000:1000", "--network", "host", "--pull", "always", "--cpus", "1.5",
        "--memory", "512MB", "-v", "/data:/data",
        IMAGE, "/bin/sh", "-c", "echo hi"]


def test_a_docker_runner_runs_the_script_through_the_engine_cli(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = tmp_path / "fake-docker"
    engine.write_text(FAKE_ENGINE)
    engine.chmod(0o755)
    record = tmp_path / "argv.json"
    monkeypatch.setenv("OSTINATO_CONTAINER_ENGINE", str(engine))
    monkeypatch.setenv("FAKE_ENGINE_LOG", str(record))
    monkeypatch.setenv("FAKE_ENGINE_IMAGE", IMAGE)
    outcome = run({"type": "io.kestra.plugin.scripts.shell.Commands", "taskRunner": DOCKER,
                   "containerImage": IMAGE, "env": {"GREETING": "hola"},
                   "commands": ['echo "$GREETING from $(pwd)"',
                                'echo \'::{"outputs":{"n":3}}::\'']})
    assert outcome.state == "SUCCESS", outcome.logs
    argv = json.loads(record.read_text())
    assert argv[:2] == ["run", "--rm"] and IMAGE in argv
    assert "-e" in argv and "GREETING=hola" in argv
    assert not any(a.startswith("PATH=") for a in argv)  # the image keeps its own PATH
    workdir = argv[argv.index("-w") + 1]
    assert messages(outcome, "INFO") == [f"hola from {workdir}"]
    assert outcome.outputs["vars"] == {"n": 3} and outcome.outputs["exitCode"] == 0


def test_a_docker_runner_without_an_engine_fails_naming_it_and_the_process_runner(
        no_engine: str) -> None:
    outcome = run({"type": "io.kestra.plugin.scripts.shell.Commands", "taskRunner": DOCKER,
                   "commands": ["echo never"]})
    assert outcome.state == "FAILED"
    [error] = messages(outcome, "ERROR")
    assert no_engine in error and "container engine" in error
    assert "taskRunner: {type: io.kestra.plugin.core.runner.Process}" in error
    assert "OSTINATO_DOCKER_FALLBACK=process" in error


def test_the_deprecated_runner_docker_fails_the_same_way(no_engine: str) -> None:
    outcome = run({"type": "io.kestra.plugin.scripts.shell.Commands", "runner": "DOCKER",
                   "commands": ["echo never"]})
    assert outcome.state == "FAILED" and no_engine in messages(outcome, "ERROR")[0]


def test_the_process_fallback_runs_locally_with_a_warning(
        no_engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSTINATO_DOCKER_FALLBACK", "process")
    outcome = run({"type": "io.kestra.plugin.scripts.shell.Commands", "taskRunner": DOCKER,
                   "containerImage": "ubuntu", "commands": ["echo local"]})
    assert outcome.state == "SUCCESS"
    assert messages(outcome, "INFO") == ["local"]
    [warning] = messages(outcome, "WARN")
    assert "local process" in warning and no_engine in warning


def test_validation_warns_about_a_docker_runner_without_an_engine(no_engine: str) -> None:
    errors, warnings = validate_flow_with_warnings(FLOW.format(runner=DOCKER["type"]))
    assert errors == []
    [warning] = warnings
    assert (warning.path, warning.line) == ("tasks[0]", 4)
    assert no_engine in warning.message and PROCESS["type"] in warning.message


def test_an_explicit_process_runner_validates_without_warning(no_engine: str) -> None:
    assert validate_flow_with_warnings(FLOW.format(runner=PROCESS["type"])) == ([], [])


def test_the_cli_prints_the_warning_and_still_exits_0(no_engine: str, tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(FLOW.format(runner=DOCKER["type"]))
    result = CliRunner().invoke(validate_command, [str(path)])
    assert result.exit_code == 0, result.output
    assert "valid, 1 warning(s)" in result.output and "warning: tasks[0], line 4" in result.output
