"""Shell and Python script tasks through run_task, with real subprocesses (no mocks)."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ostinato.flow.tasks import Task
from ostinato.storage import LocalStorage
from ostinato.tasks import RunContext, TaskOutcome, run_task

SHELL = "io.kestra.plugin.scripts.shell.Commands"
SHELL_SCRIPT = "io.kestra.plugin.scripts.shell.Script"
PYTHON = "io.kestra.plugin.scripts.python.Commands"
PYTHON_SCRIPT = "io.kestra.plugin.scripts.python.Script"
PROCESS = {"type": "io.kestra.plugin.core.runner.Process"}

EXECUTION_VARS: dict[str, Any] = {
    "flow": {"id": "scripts", "namespace": "company.team"},
    "execution": {"id": "exec1"},
    "taskrun": {"id": "run1"},
}


def run(
    data: dict[str, Any],
    variables: dict[str, Any] | None = None,
    storage: LocalStorage | None = None,
    ctx: RunContext | None = None,
) -> TaskOutcome:
    task = Task.model_validate({"id": "t", "taskRunner": PROCESS, **data})
    ctx = ctx or RunContext(variables=variables or {}, storage=storage)
    return run_task(task, ctx)


def lines(outcome: TaskOutcome, level: str = "INFO") -> list[str]:
    return [line.message for line in outcome.logs if line.level == level]


# ------------------------------------------------------------------ shell Commands


def test_shell_commands_echo_and_exit_code() -> None:
    outcome = run({"type": SHELL, "commands": ["echo hello", "echo world"]})
    assert outcome.state == "SUCCESS"
    assert lines(outcome) == ["hello", "world"]
    assert outcome.outputs == {
        "exitCode": 0,
        "stdOutLineCount": 2,
        "stdErrLineCount": 0,
        "vars": {},
        "outputFiles": {},
    }


def test_failing_command_fails_the_task_with_its_exit_code() -> None:
    outcome = run({"type": SHELL, "commands": ["echo before", "exit 3", "echo never"]})
    assert outcome.state == "FAILED"
    assert lines(outcome, "ERROR") == ["Command failed with exit code 3"]
    assert lines(outcome) == ["before"]
    assert outcome.outputs["exitCode"] == 3


def test_fail_fast_stops_at_the_first_failing_command() -> None:
    outcome = run({"type": SHELL, "commands": ["false", "echo after"]})
    assert outcome.state == "FAILED"
    assert lines(outcome, "ERROR") == ["Command failed with exit code 1"]
    assert lines(outcome) == []


def test_without_fail_fast_the_last_command_decides() -> None:
    outcome = run({"type": SHELL, "failFast": False, "commands": ["false", "echo after"]})
    assert outcome.state == "SUCCESS"
    assert lines(outcome) == ["after"]


def test_outputs_vars_metrics_and_logs_from_structured_lines() -> None:
    outcome = run({"type": SHELL, "commands": [
        """echo '::{"outputs":{"a":1,"s":"x"}}::'""",
        """echo '::{"outputs":{"a":2}}::'""",
        """echo '::{"metrics":[{"name":"rows","type":"counter","value":5,"tags":{"type":"t"}},"""
        """{"name":"took","type":"timer","value":1.5}]}::'""",
        """echo '::{"logs":[{"level":"WARNING","message":"careful"}]}::'""",
        "echo '::not json::'",
        "echo plain",
    ]})
    assert outcome.state == "SUCCESS"
    assert outcome.outputs["vars"] == {"a": 2, "s": "x"}
    assert outcome.outputs["stdOutLineCount"] == 6
    assert lines(outcome) == ["::not json::", "plain"]
    assert lines(outcome, "WARN") == ["careful"]
    assert [(m["name"], m["type"], m["value"], m["tags"]) for m in outcome.metrics] == [
        ("rows", "counter", 5.0, {"type": "t"}),
        ("took", "timer", 1.5, {}),
    ]


def test_invalid_structured_line_is_a_warning_not_an_output() -> None:
    outcome = run({"type": SHELL, "commands": ["echo '::{\"outputs\": oops}::'"]})
    assert outcome.state == "SUCCESS"
    assert outcome.outputs["vars"] == {}
    assert lines(outcome, "WARN")[0].startswith("Invalid outputs")


def test_stderr_lines_are_logged_at_warn() -> None:
    outcome = run({"type": SHELL, "commands": ["echo oops >&2", "echo fine"]})
    assert outcome.state == "SUCCESS"
    assert lines(outcome, "WARN") == ["oops"]
    assert lines(outcome) == ["fine"]
    assert outcome.outputs["stdErrLineCount"] == 1


def test_warning_on_stderr_ends_in_warning_with_outputs() -> None:
    outcome = run({"type": SHELL, "warningOnStdErr": True,
                   "commands": ["echo oops >&2", "echo '::{\"outputs\":{\"k\":true}}::'"]})
    assert outcome.state == "WARNING"
    assert outcome.outputs["vars"] == {"k": True}


def test_commands_are_rendered_from_variables() -> None:
    outcome = run(
        {"type": SHELL, "commands": ["echo {{ inputs.name }}-{{ taskrun.id }}"]},
        {"inputs": {"name": "kestra"}, "taskrun": {"id": "r1"}},
    )
    assert lines(outcome) == ["kestra-r1"]


def test_rendering_error_fails_the_task() -> None:
    outcome = run({"type": SHELL, "commands": ["echo {{ inputs.missing }}"]}, {"inputs": {}})
    assert outcome.state == "FAILED"


def test_before_commands_run_first_in_order() -> None:
    outcome = run({
        "type": SHELL,
        "beforeCommands": ["echo one", "X=two"],
        "commands": ["echo $X", "echo three"],
    })
    assert lines(outcome) == ["one", "two", "three"]


def test_env_is_set_and_the_worker_environment_is_not_inherited(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSTINATO_WORKER_SECRET", "s3cret")
    outcome = run(
        {"type": SHELL, "env": {"GREETING": "hi {{ inputs.who }}", "COUNT": 3},
         "commands": ['echo "$GREETING $COUNT"', 'echo "secret=${OSTINATO_WORKER_SECRET:-unset}"',
                      'test -n "$PATH" && test -n "$HOME" && echo ok']},
        {"inputs": {"who": "you"}},
    )
    assert lines(outcome) == ["hi you 3", "secret=unset", "ok"]


def test_working_dir_is_fresh_and_removed(tmp_path: Path) -> None:
    outcome = run({"type": SHELL, "commands": [
        'echo "$PWD"', 'test "$PWD" = "$WORKING_DIR" && echo same',
        'test "{{ workingDir }}" = "$WORKING_DIR" && echo rendered', "ls -A | wc -l",
    ]})
    workdir, same, rendered, count = lines(outcome)
    assert (same, rendered, count.strip()) == ("same", "rendered", "0")
    assert not Path(workdir).exists()


def test_input_files_are_written_and_used(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    uri = storage.put("company/team/scripts/executions/exec1/data.csv", b"a,b\n1,2\n")
    outcome = run(
        {"type": SHELL,
         "inputFiles": {"hello.txt": "Hello {{ inputs.name }}", "sub/data.csv": "{{ inputs.file }}"},
         "commands": ["cat hello.txt", "echo", "cat sub/data.csv"]},
        {"inputs": {"name": "you", "file": uri}},
        storage,
    )
    assert outcome.state == "SUCCESS", outcome.logs
    assert lines(outcome) == ["Hello you", "a,b", "1,2"]


def test_input_files_as_a_json_string() -> None:
    outcome = run({"type": SHELL, "inputFiles": '{"a.txt": "{{ 1 + 1 }}"}', "commands": ["cat a.txt"]})
    assert lines(outcome) == ["2"]


def test_input_file_outside_the_working_dir_is_refused() -> None:
    outcome = run({"type": SHELL, "inputFiles": {"../escape.txt": "x"}, "commands": ["true"]})
    assert outcome.state == "FAILED"
    assert "only relative path" in lines(outcome, "ERROR")[0]


def test_storage_uri_in_a_command_is_a_local_file(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    uri = storage.put("company/team/scripts/executions/exec1/in.txt", b"from storage\n")
    outcome = run({"type": SHELL, "commands": ["cat {{ outputs.previous.uri }}"]},
                  {"outputs": {"previous": {"uri": uri}}}, storage)
    assert outcome.state == "SUCCESS", outcome.logs
    assert lines(outcome) == ["from storage"]


def test_output_files_are_globbed_into_storage(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    outcome = run(
        {"type": SHELL, "outputFiles": ["*.txt", "out/**/*.csv", "missing.json"],
         "commands": ["echo one > first.txt", "echo two > second.txt", "echo skip > third.log",
                      "mkdir -p out/deep", "echo 'a,b' > out/deep/data.csv"]},
        EXECUTION_VARS, storage,
    )
    assert outcome.state == "SUCCESS", outcome.logs
    files = outcome.outputs["outputFiles"]
    assert sorted(files) == ["first.txt", "out/deep/data.csv", "second.txt"]
    prefix = "kestra:///company/team/scripts/executions/exec1/tasks/t/run1"
    assert files["first.txt"] == f"{prefix}/first.txt"
    assert storage.get(files["first.txt"]) == b"one\n"
    assert storage.get(files["out/deep/data.csv"]) == b"a,b\n"
    assert lines(outcome, "WARN") == ["outputFiles: no file `missing.json` in the working directory"]


def test_output_files_of_a_failed_run_are_kept(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    outcome = run({"type": SHELL, "outputFiles": ["log.txt"],
                   "commands": ["echo partial > log.txt", "exit 2"]}, EXECUTION_VARS, storage)
    assert outcome.state == "FAILED"
    assert storage.get(outcome.outputs["outputFiles"]["log.txt"]) == b"partial\n"


def test_output_files_without_storage_fail_clearly() -> None:
    outcome = run({"type": SHELL, "outputFiles": ["*.txt"], "commands": ["echo x > a.txt"]})
    assert outcome.state == "FAILED"
    assert lines(outcome, "ERROR") == ["outputFiles need an internal storage, and none is configured"]


def test_output_dir_files_are_uploaded(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    outcome = run({"type": SHELL_SCRIPT, "script": (
        'echo "hello" > {{ outputDir }}/hello.txt\n'
        'mkdir -p "$OUTPUT_DIR/nested" && echo deep > "$OUTPUT_DIR/nested/x.txt"\n'
    )}, EXECUTION_VARS, storage)
    assert outcome.state == "SUCCESS", outcome.logs
    files = outcome.outputs["outputFiles"]
    assert sorted(files) == ["hello.txt", "nested/x.txt"]
    assert storage.get(files["hello.txt"]) == b"hello\n"


def test_output_file_path_is_a_variable_for_plain_names(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    outcome = run({"type": SHELL, "outputFiles": ["result.txt"],
                   "commands": ["echo done > {{ outputFiles['result.txt'] }}"]},
                  EXECUTION_VARS, storage)
    assert storage.get(outcome.outputs["outputFiles"]["result.txt"]) == b"done\n"


def test_timeout_kills_the_process_group() -> None:
    started = time.monotonic()
    outcome = run({"type": SHELL, "timeout": "PT1S", "commands": ["sleep 30 & sleep 30"]})
    elapsed = time.monotonic() - started
    assert outcome.state == "FAILED"
    assert lines(outcome, "ERROR") == ["Task timed out after PT1S"]
    assert elapsed < 10


def test_timeout_escalates_to_sigkill_when_sigterm_is_ignored() -> None:
    started = time.monotonic()
    outcome = run({"type": SHELL, "timeout": "PT0.5S",
                   "commands": ["trap '' TERM", "while true; do sleep 0.1; done"]})
    assert outcome.state == "FAILED"
    assert lines(outcome, "ERROR") == ["Task timed out after PT0.5S"]
    assert time.monotonic() - started < 10


def test_cancel_event_kills_the_task() -> None:
    ctx = RunContext(variables={})
    cancel = threading.Event()
    ctx.cancel_event = cancel  # type: ignore[attr-defined]
    timer = threading.Timer(0.3, cancel.set)
    timer.start()
    started = time.monotonic()
    try:
        outcome = run({"type": SHELL, "commands": ["echo started", "sleep 30"]}, ctx=ctx)
    finally:
        timer.cancel()
    assert outcome.state == "KILLED"
    assert lines(outcome) == ["started"]
    assert time.monotonic() - started < 10


def test_large_output_streams_without_deadlock() -> None:
    outcome = run({"type": SHELL, "commands": [
        "i=0; while [ $i -lt 20000 ]; do echo line$i; echo err$i >&2; i=$((i+1)); done"
    ]})
    assert outcome.state == "SUCCESS"
    assert outcome.outputs["stdOutLineCount"] == 20000
    assert outcome.outputs["stdErrLineCount"] == 20000
    assert lines(outcome)[-1] == "line19999"


def test_background_process_holding_the_pipes_is_killed() -> None:
    started = time.monotonic()
    outcome = run({"type": SHELL, "commands": ["sleep 30 &", "echo main done"]})
    assert outcome.state == "SUCCESS"
    assert lines(outcome) == ["main done"]
    assert time.monotonic() - started < 10


def test_docker_task_runner_without_an_engine_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # (with an engine it runs in a container: tests/tasks/scripts/test_task_runner.py)
    monkeypatch.setenv("OSTINATO_CONTAINER_ENGINE", "no-such-engine-script-runner")
    monkeypatch.delenv("OSTINATO_DOCKER_FALLBACK", raising=False)
    outcome = run({"type": SHELL, "commands": ["echo never"], "containerImage": "ubuntu",
                   "taskRunner": {"type": "io.kestra.plugin.scripts.runner.docker.Docker",
                                  "pullPolicy": "IF_NOT_PRESENT"}})
    assert outcome.state == "FAILED"
    message = lines(outcome, "ERROR")[0]
    assert "io.kestra.plugin.scripts.runner.docker.Docker" in message
    assert "taskRunner: {type: io.kestra.plugin.core.runner.Process}" in message
    assert lines(outcome) == []


def test_deprecated_docker_runner_without_an_engine_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSTINATO_CONTAINER_ENGINE", "no-such-engine-script-runner")
    monkeypatch.delenv("OSTINATO_DOCKER_FALLBACK", raising=False)
    task = Task.model_validate({"id": "t", "type": SHELL, "runner": "DOCKER", "commands": ["true"]})
    outcome = run_task(task, RunContext(variables={}))
    assert outcome.state == "FAILED"


def test_without_task_runner_the_process_runner_is_used() -> None:
    task = Task.model_validate({"id": "t", "type": SHELL, "commands": ["echo ok"]})
    assert lines(run_task(task, RunContext(variables={}))) == ["ok"]


def test_namespace_files_are_copied_into_the_working_directory(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.put("company/team/_files/scripts/a.txt", b"A")
    storage.put("company/team/_files/scripts/skip.txt", b"S")
    storage.put("company/team/_files/top.txt", b"T")
    storage.put("other/_files/b.txt", b"B")
    outcome = run({"type": SHELL, "namespaceFiles": {"enabled": True, "include": ["scripts/**"],
                                                     "exclude": ["**/skip.txt"]},
                   "commands": ["find . -type f | sort"]}, EXECUTION_VARS, storage)
    assert outcome.state == "SUCCESS"
    assert lines(outcome) == ["./scripts/a.txt"]
    off = run({"type": SHELL, "namespaceFiles": {"enabled": False}, "commands": ["ls | wc -l"]},
              EXECUTION_VARS, storage)
    assert lines(off) == ["0"]


def test_custom_interpreter() -> None:
    outcome = run({"type": SHELL, "interpreter": ["/bin/bash", "-c"],
                   "commands": ["arr=(a b c)", "echo ${arr[1]}"]})
    assert lines(outcome) == ["b"]


def test_missing_interpreter_fails_clearly() -> None:
    outcome = run({"type": SHELL, "interpreter": ["/no/such/shell", "-c"], "commands": ["true"]})
    assert outcome.state == "FAILED"
    assert lines(outcome, "ERROR")[0].startswith("Unable to start `/no/such/shell`")


# ------------------------------------------------------------------ Python


FIBO = """
import json

def fibo(n):
    return n if n < 2 else fibo(n - 1) + fibo(n - 2)

print("computing")
print("::" + json.dumps({"outputs": {"fibo": fibo({{ inputs.n }})}}) + "::")
"""


def test_python_script_computes_fibo_as_an_output() -> None:
    outcome = run({"type": PYTHON_SCRIPT, "script": FIBO}, {"inputs": {"n": 10}})
    assert outcome.state == "SUCCESS", outcome.logs
    assert outcome.outputs["vars"] == {"fibo": 55}
    assert lines(outcome) == ["computing"]


def test_python_script_runs_with_ostinatos_python_after_before_commands() -> None:
    outcome = run({
        "type": PYTHON_SCRIPT,
        "beforeCommands": ["echo before", "echo 'VALUE = 42' > helper.py"],
        "script": "import sys, helper\nprint(sys.executable)\nprint(helper.VALUE)",
    })
    assert outcome.state == "SUCCESS", outcome.logs
    before, executable, value = lines(outcome)
    assert before == "before"
    assert Path(executable).resolve() == Path(sys.executable).resolve()
    assert value == "42"


def test_python_script_exception_fails_with_the_traceback_on_stderr() -> None:
    outcome = run({"type": PYTHON_SCRIPT, "script": "raise ValueError('boom')"})
    assert outcome.state == "FAILED"
    assert lines(outcome, "ERROR") == ["Command failed with exit code 1"]
    assert "ValueError: boom" in lines(outcome, "WARN")


def test_python_commands_use_ostinatos_python() -> None:
    outcome = run({"type": PYTHON, "commands": [
        "python -c 'import sys; print(sys.executable)'",
        "python3 -c 'print(6 * 7)'",
        """python -c 'print("::{\\"outputs\\": {\\"x\\": 1}}::")'""",
        'echo "$PYTHONUNBUFFERED"',
    ]})
    assert outcome.state == "SUCCESS", outcome.logs
    executable, answer, unbuffered = lines(outcome)
    assert Path(executable).resolve() == Path(sys.executable).resolve()
    assert answer == "42"
    assert unbuffered == "true"
    assert outcome.outputs["vars"] == {"x": 1}


def test_python_dependencies_are_ignored_with_a_warning() -> None:
    outcome = run({"type": PYTHON_SCRIPT, "dependencies": ["requests"], "script": "print('ok')"})
    assert outcome.state == "SUCCESS"
    assert lines(outcome) == ["ok"]
    assert "dependencies" in lines(outcome, "WARN")[0]


def test_python_script_output_file(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    outcome = run({"type": PYTHON_SCRIPT, "outputFiles": ["myfile.txt"],
                   "script": "open('myfile.txt', 'w').write('Hello from a task!')"},
                  EXECUTION_VARS, storage)
    assert outcome.state == "SUCCESS", outcome.logs
    assert sorted(outcome.outputs["outputFiles"]) == ["myfile.txt"]
    assert storage.get(outcome.outputs["outputFiles"]["myfile.txt"]) == b"Hello from a task!"


def test_python_shims_when_the_interpreter_has_no_python_sibling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An interpreter such as /usr/bin/python3.11 with no `python` beside it.
    lone = tmp_path / "bin" / "python3.11"
    lone.parent.mkdir()
    lone.symlink_to(sys.executable)
    monkeypatch.setattr(sys, "executable", str(lone))
    outcome = run({"type": PYTHON, "commands": [
        "python -c 'import sys; print(sys.executable)'",
        "python3 -c 'import sys; print(sys.executable)'",
    ]})
    assert outcome.state == "SUCCESS", outcome.logs
    assert lines(outcome) == [str(lone), str(lone)]


def test_long_lines_and_a_last_line_without_newline() -> None:
    outcome = run({"type": PYTHON_SCRIPT, "script": (
        "import sys\nsys.stdout.write('x' * 3_000_000 + '\\nend')"
    )})
    assert outcome.state == "SUCCESS", outcome.logs
    out = lines(outcome)
    assert [len(line) for line in out] == [1024 * 1024, 1024 * 1024, 3_000_000 - 2 * 1024 * 1024, 3]
    assert out[-1] == "end"
