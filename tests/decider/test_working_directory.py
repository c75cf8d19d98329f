"""WorkingDirectory in the pure decider: children dispatched one at a time with their group,
errors/finally outside the group, the WorkingDirectory's own last attempt after every phase,
its state the worse of its children's and that attempt's, and a kill while it runs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ostinato.decider import commands as cmd
from ostinato.decider import decide
from ostinato.decider import events as ev
from ostinato.execution.model import Execution
from ostinato.flow.model import Flow
from ostinato.flow.tasks_storage import WorkingDirectory, WorkingGroup

from tests.decider.helpers import flow_of

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)

FLOW = """
id: wd
namespace: io.kestra.tests
tasks:
  - id: worker
    type: io.kestra.plugin.core.flow.WorkingDirectory
    inputFiles: {a.txt: "{{ execution.id }}"}
    tasks:
      - {id: first, type: io.kestra.plugin.core.debug.Return, format: one}
      - {id: second, type: io.kestra.plugin.core.debug.Return, format: two}
    errors:
      - {id: on-error, type: io.kestra.plugin.core.debug.Return, format: err}
  - {id: after, type: io.kestra.plugin.core.debug.Return, format: "{{ outputs.worker }}"}
"""


class Driver:
    """Applies events one by one and keeps the RunTasks the decider asked for."""

    def __init__(self, source: str) -> None:
        self.flow: Flow = flow_of(source)
        self.execution: Execution | None = None
        self.sent: list[cmd.RunTask] = []
        self.seconds = 0
        self.apply(ev.ExecutionRequested(id="req", at=T0, execution_id="ex1",
                                         namespace=self.flow.namespace, flow_id=self.flow.id,
                                         flow_revision=1))

    def apply(self, event: ev.Event) -> None:
        decision = decide(self.flow, self.execution, event)
        self.execution = decision.execution
        self.sent += [c for c in decision.commands if isinstance(c, cmd.RunTask)]

    def finish(self, command: cmd.RunTask, state: str, outputs: dict[str, object] | None = None) -> None:
        self.seconds += 1
        at = T0 + timedelta(seconds=self.seconds)
        for step in ("RUNNING", state):
            self.apply(ev.WorkerTaskResult(id=f"{command.task_run_id}/{step}", at=at,
                                           execution_id="ex1", task_run_id=command.task_run_id,
                                           attempt=command.attempt, state=step,
                                           outputs=outputs if step == state else None))

    def state_of(self, task_id: str) -> str:
        assert self.execution is not None
        return str(next(r for r in self.execution.task_run_list if r.task_id == task_id).state.current)


def test_children_go_one_by_one_with_their_group_then_the_last_attempt() -> None:
    driver = Driver(FLOW)
    first, = driver.sent
    group = WorkingGroup.from_json(first.working_directory)
    assert first.task.id == "first" and group is not None and group.input_files == {"a.txt": "{{ execution.id }}"}
    driver.finish(first, "SUCCESS")
    second = driver.sent[-1]
    assert second.task.id == "second" and second.working_directory == first.working_directory
    driver.finish(second, "SUCCESS")
    last = driver.sent[-1]
    assert isinstance(last.task, WorkingDirectory) and last.task_run_id == group.id
    assert last.working_directory is None and driver.state_of("worker") == "RUNNING"
    driver.finish(last, "SUCCESS", {"outputFiles": {"x": "kestra:///x"}})
    assert driver.state_of("worker") == "SUCCESS"
    after = driver.sent[-1]
    assert after.task.id == "after" and after.working_directory is None
    assert after.variables["outputs"]["worker"] == {"outputFiles": {"x": "kestra:///x"}}


def test_a_failed_child_runs_errors_outside_the_group_and_the_run_fails() -> None:
    driver = Driver(FLOW)
    driver.finish(driver.sent[0], "FAILED")
    on_error = driver.sent[-1]
    assert on_error.task.id == "on-error" and on_error.working_directory is None
    driver.finish(on_error, "SUCCESS")
    last = driver.sent[-1]
    assert isinstance(last.task, WorkingDirectory)
    driver.finish(last, "SUCCESS")  # the directory collected: the children's failure stands
    assert driver.state_of("worker") == "FAILED"
    assert driver.execution is not None and driver.execution.state.current == "FAILED"


def test_a_failed_last_attempt_fails_the_working_directory_without_retry() -> None:
    driver = Driver(FLOW.replace("    inputFiles:", "    retry: {type: constant, interval: PT1S, maxAttempt: 3}\n    inputFiles:"))
    for _ in range(2):
        driver.finish(driver.sent[-1], "SUCCESS")
    driver.finish(driver.sent[-1], "FAILED")
    assert driver.state_of("worker") == "FAILED"
    assert driver.execution is not None and driver.execution.state.current == "FAILED"


def test_kill_while_a_child_runs() -> None:
    driver = Driver(FLOW)
    driver.apply(ev.Kill(id="kill", at=T0 + timedelta(seconds=1), execution_id="ex1"))
    driver.finish(driver.sent[0], "KILLED")
    assert driver.execution is not None and driver.execution.state.current == "KILLED"
    assert not any(isinstance(c.task, WorkingDirectory) for c in driver.sent)
