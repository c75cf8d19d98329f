"""The most task runs an execution may have comes in through Settings (no environment read
in the decider): a ForEach whose values would pass it fails at once with the limit named,
and a task run past it is created FAILED."""

from __future__ import annotations

from pathlib import Path

from ostinato.decider import Settings
from ostinato.inprocess import InProcessRunner

FOREACH = """
id: fan
namespace: tests.limits
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: {values}
    concurrencyLimit: 0
    tasks:
      - id: a
        type: io.kestra.plugin.core.debug.Return
        format: "{{{{ taskrun.value }}}}"
      - id: b
        type: io.kestra.plugin.core.debug.Return
        format: "{{{{ taskrun.value }}}}"
"""


def runner(tmp_path: Path, limit: int) -> InProcessRunner:
    return InProcessRunner(storage_dir=tmp_path / "storage", settings=Settings(max_task_runs=limit))


def error_messages(run: InProcessRunner, execution_id: str) -> list[str]:
    return [line.message for line in run.logs if line.execution_id == execution_id and line.level == "ERROR"]


def test_a_foreach_whose_values_pass_the_limit_fails_naming_it(tmp_path: Path) -> None:
    run = runner(tmp_path, 100)
    execution = run.run(run.deploy(FOREACH.format(values=list(range(60)))), {})
    assert execution.state.current == "FAILED"
    assert [r.task_id for r in execution.task_run_list] == ["each"]  # nothing was created
    message = error_messages(run, execution.id)[0]
    assert "would create 120 task run(s)" in message and "limit of 100 task runs" in message
    assert "OSTINATO_MAX_TASK_RUNS" in message


def test_under_the_limit_it_runs(tmp_path: Path) -> None:
    run = runner(tmp_path, 121)
    execution = run.run(run.deploy(FOREACH.format(values=list(range(60)))), {})
    assert execution.state.current == "SUCCESS" and len(execution.task_run_list) == 121


def test_a_task_run_past_the_limit_is_created_failed(tmp_path: Path) -> None:
    tasks = "".join(f"""
  - id: t{i}
    type: io.kestra.plugin.core.debug.Return
    format: "{i}"
""" for i in range(5))
    run = runner(tmp_path, 3)
    execution = run.run(run.deploy(f"id: chain\nnamespace: tests.limits\ntasks:{tasks}"), {})
    assert execution.state.current == "FAILED"
    assert [(r.task_id, r.state.current) for r in execution.task_run_list] == [
        ("t0", "SUCCESS"), ("t1", "SUCCESS"), ("t2", "SUCCESS"), ("t3", "FAILED")]
    assert "limit of 3 task runs" in error_messages(run, execution.id)[0]
