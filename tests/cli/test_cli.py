"""The `ostinato` command as a user runs it: a real process, a real embedded stack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def ostinato(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ostinato", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_every_command_has_help() -> None:
    for command in ([], ["local"], ["run"], ["flow"], ["flow", "validate"], ["flow", "deploy"],
                    ["execution"], ["execution", "kill"], ["execution", "resume"], ["execution", "restart"], ["execution", "replay"],
                    ["trigger"], ["trigger", "backfill"],
                    ["executor"], ["worker"], ["scheduler"], ["api"]):
        result = ostinato(*command, "--help")
        assert result.returncode == 0, (command, result.stderr)
        assert "Usage:" in result.stdout
    assert "OSTINATO_BOOTSTRAP_SERVERS" in ostinato("executor", "--help").stdout


def test_flow_validate_lists_every_error_with_its_line(tmp_path: Path) -> None:
    good = write(tmp_path, "good.yaml", "id: ok\nnamespace: a.b\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.debug.Return\n    format: x\n")
    bad = write(tmp_path, "bad.yaml", "id: ok\nnamespace: a.b\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.debug.Nope\n  - id: u\n    type: io.kestra.plugin.core.log.Log\n")
    assert ostinato("flow", "validate", str(good)).returncode == 0
    result = ostinato("flow", "validate", str(good), str(bad))
    assert result.returncode == 1
    assert "tasks[0].type, line 5: unknown task type `io.kestra.plugin.core.debug.Nope`" in result.stdout
    assert "tasks[1].message, line 6" in result.stdout


def test_run_prints_kestra_json_and_exits_0(tmp_path: Path) -> None:
    result = ostinato("run", "examples/hello.yaml", "--input", "name=ostinato", "--json")
    assert result.returncode == 0, result.stderr
    execution = json.loads(result.stdout)
    assert execution["state"]["current"] == "SUCCESS"
    assert [run["taskId"] for run in execution["taskRunList"]][:2] == ["greet", "each"]
    assert execution["outputs"] == {"greeting": "Hello, ostinato!"}
    assert "_ostinato" not in execution
    assert "SUCCESS  greet" in result.stderr


def test_run_exit_codes_for_failure_invalid_flow_and_invalid_input(tmp_path: Path) -> None:
    failing = write(tmp_path, "fail.yaml", "id: f\nnamespace: a.b\ntasks:\n  - id: boom\n    type: io.kestra.plugin.core.execution.Fail\n")
    result = ostinato("run", str(failing))
    assert result.returncode == 1, result.stderr
    assert "final state: FAILED" in result.stderr
    invalid = write(tmp_path, "invalid.yaml", "id: f\nnamespace: a.b\ntasks: []\n")
    result = ostinato("run", str(invalid))
    assert result.returncode == 2 and "invalid flow" in result.stderr
    typed = write(tmp_path, "typed.yaml", "id: f\nnamespace: a.b\ninputs:\n  - id: n\n    type: INT\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.debug.Return\n    format: x\n")
    result = ostinato("run", str(typed), "--input", "n=abc")
    assert result.returncode == 2
    assert "Invalid input for `n`" in result.stderr


def test_run_uploads_a_file_input_and_a_task_reads_it(tmp_path: Path) -> None:
    data = write(tmp_path, "data.txt", "hello from a file")
    flow = write(tmp_path, "file.yaml", """
id: with-file
namespace: a.b
inputs:
  - id: doc
    type: FILE
tasks:
  - id: read
    type: io.kestra.plugin.core.debug.Return
    format: "{{ read(inputs.doc) }}"
""")
    result = ostinato("run", str(flow), "--input", f"doc=@{data}", "--json")
    assert result.returncode == 0, result.stderr
    execution = json.loads(result.stdout)
    assert execution["inputs"]["doc"].startswith("kestra:///a/b/with-file/executions/")
    assert execution["taskRunList"][0]["outputs"] == {"value": "hello from a file"}


def test_run_deploys_subflows_from_a_folder(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    write(flows, "child.yaml", "id: child\nnamespace: a.b\ninputs:\n  - id: x\n    type: STRING\ntasks:\n  - id: echo\n    type: io.kestra.plugin.core.debug.Return\n    format: \"child got {{ inputs.x }}\"\noutputs:\n  - id: said\n    type: STRING\n    value: \"{{ outputs.echo.value }}\"\n")
    parent = write(tmp_path, "parent.yaml", "id: parent\nnamespace: a.b\ntasks:\n  - id: call\n    type: io.kestra.plugin.core.flow.Subflow\n    namespace: a.b\n    flowId: child\n    inputs:\n      x: hi\n")
    result = ostinato("run", str(parent), "--flows", str(flows), "--json")
    assert result.returncode == 0, result.stderr
    execution = json.loads(result.stdout)
    call = execution["taskRunList"][0]
    assert call["state"]["current"] == "SUCCESS"
    assert call["outputs"]["state"] == "SUCCESS"


@pytest.mark.parametrize("flag", ["--bootstrap-servers"])
def test_run_against_a_running_stack_uses_its_broker(tmp_path: Path, flag: str) -> None:
    from ostinato.cli.stack import LocalStack

    with LocalStack(data_dir=tmp_path / "stack") as stack:
        result = ostinato("run", "examples/hello.yaml", flag, stack.bootstrap_servers,
                          "--session-timeout-ms", "3000", "--json")
        assert result.returncode == 0, result.stderr
        assert "starting an embedded stack" not in result.stderr
        assert json.loads(result.stdout)["state"]["current"] == "SUCCESS"
