"""Script task types in flows: validation, and a run through the in-process driver."""

from __future__ import annotations

from pathlib import Path

import pytest

import ostinato.tasks  # noqa: F401  - registers the script task types
from ostinato.flow.parser import FlowValidationError, parse_flow
from ostinato.inprocess import InProcessRunner
from ostinato.tasks.scripts import PythonCommands, PythonScript, ShellCommands, ShellScript

FLOW = """
id: scripts
namespace: company.team

inputs:
  - id: n
    type: INT
    defaults: 10

tasks:
  - id: fibo
    type: io.kestra.plugin.scripts.python.Script
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    containerImage: python:3.11-slim
    warningOnStdErr: false
    targetOS: LINUX
    script: |
      import json
      def fibo(n):
          return n if n < 2 else fibo(n - 1) + fibo(n - 2)
      print("::" + json.dumps({"outputs": {"fibo": fibo({{ inputs.n }})}}) + "::")

  - id: shell
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    outputFiles:
      - result.txt
    env:
      FIBO: "{{ outputs.fibo.vars.fibo }}"
    commands:
      - echo "fibo is $FIBO" > result.txt
      - cat result.txt

  - id: read
    type: io.kestra.plugin.scripts.shell.Script
    script: cat {{ outputs.shell.outputFiles['result.txt'] }}

  - id: python_commands
    type: io.kestra.plugin.scripts.python.Commands
    beforeCommands:
      - echo preparing
    namespaceFiles:
      enabled: false
    commands:
      - python -c 'print(1 + 1)'
"""


def test_flow_with_script_tasks_validates() -> None:
    flow = parse_flow(FLOW)
    assert [type(t) for t in flow.tasks] == [PythonScript, ShellCommands, ShellScript, PythonCommands]
    assert flow.tasks[0].target_os == "LINUX"  # type: ignore[attr-defined]


def test_flow_runs_script_tasks_end_to_end(tmp_path: Path) -> None:
    runner = InProcessRunner(storage_dir=tmp_path)
    execution = runner.run(runner.deploy(FLOW))
    messages = [(log.task_id, log.level, log.message) for log in runner.logs if log.level != "DEBUG"]
    assert execution.state.current == "SUCCESS", messages
    assert execution.task_outputs["fibo"]["vars"] == {"fibo": 55}
    uri = execution.task_outputs["shell"]["outputFiles"]["result.txt"]
    assert runner.storage.get(uri) == b"fibo is 55\n"
    assert ("read", "INFO", "fibo is 55") in messages
    assert ("python_commands", "INFO", "2") in messages


@pytest.mark.parametrize("task, message", [
    ("type: io.kestra.plugin.scripts.shell.Commands\n    script: echo", "commands"),
    ("type: io.kestra.plugin.scripts.shell.Script\n    commands: [echo]", "script"),
    ("type: io.kestra.plugin.scripts.shell.Commands\n    commands: []", "at least one command"),
    ("type: io.kestra.plugin.scripts.shell.Commands\n    commands: [echo]\n"
     "    taskRunner:\n      type: io.kestra.plugin.ee.kubernetes.runner.Kubernetes",
     "unknown task runner type"),
    ("type: io.kestra.plugin.scripts.shell.Commands\n    commands: [echo]\n"
     "    taskRunner:\n      image: ubuntu", "needs a `type`"),
    ("type: io.kestra.plugin.scripts.python.Script\n    script: print(1)\n    unknownProp: 1",
     "unknownProp"),
])
def test_invalid_script_tasks_are_reported(task: str, message: str) -> None:
    source = f"id: f\nnamespace: company.team\ntasks:\n  - id: t\n    {task}\n"
    with pytest.raises(FlowValidationError) as error:
        parse_flow(source)
    assert message in str(error.value)


def test_docker_task_runner_validates() -> None:
    flow = parse_flow(
        "id: f\nnamespace: company.team\ntasks:\n  - id: t\n"
        "    type: io.kestra.plugin.scripts.shell.Commands\n    commands: [echo]\n"
        "    taskRunner:\n      type: io.kestra.plugin.scripts.runner.docker.Docker\n"
        "      pullPolicy: IF_NOT_PRESENT\n"
    )
    assert flow.tasks[0].task_runner["type"].endswith("Docker")  # type: ignore[attr-defined]
