"""ExecutionRefused and Fault: the decider's own way to end an execution that cannot start
or whose handling raised, so no driver builds a FAILED execution by hand."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ostinato.decider import commands as cmd
from ostinato.decider import created_execution, decide
from ostinato.decider import events as ev
from ostinato.execution.model import Execution
from ostinato.flow.model import Flow

from tests.decider.helpers import flow_of

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _request(flow: Flow, **extra: object) -> ev.ExecutionRequested:
    return ev.ExecutionRequested(id="req", at=T0, execution_id="ex1", namespace=flow.namespace,
                                 flow_id=flow.id, flow_revision=1, **extra)  # type: ignore[arg-type]


def _started(source: str, **extra: object) -> tuple[Flow, Execution, list[cmd.Command]]:
    flow = flow_of(source)
    decision = decide(flow, None, _request(flow, **extra))
    assert decision.execution is not None
    return flow, decision.execution, decision.commands


def _result(run_cmd: cmd.RunTask, state: str, seconds: int) -> ev.WorkerTaskResult:
    return ev.WorkerTaskResult(id=f"r/{run_cmd.task_run_id}/{state}", at=_at(seconds),
                               execution_id="ex1", task_run_id=run_cmd.task_run_id,
                               attempt=run_cmd.attempt, state=state)


def _fault(seconds: int = 100) -> ev.Fault:
    return ev.Fault(id="fault", at=_at(seconds), execution_id="ex1",
                    message="Traceback: ZeroDivisionError")


def _assert_failed_by_fault(execution: Execution | None) -> None:
    assert execution is not None
    assert execution.state.current == "FAILED"
    assert execution.finished
    assert not execution.timers
    assert all(run.state.current == "FAILED" or run.state.terminal for run in execution.task_run_list)
    assert all(a.state.terminal for run in execution.task_run_list for a in run.attempts)
    assert execution.error_logs[-1]["message"] == "Traceback: ZeroDivisionError"


# ---------------------------------------------------------------- ExecutionRefused

def test_a_refused_request_creates_the_execution_failed_with_the_reason_and_no_flow() -> None:
    request = ev.ExecutionRequested(
        id="req", at=T0, execution_id="child", namespace="ns", flow_id="missing",
        flow_revision=3, parent_id="parent",
        metadata={"parentTaskRunId": "tr1", "parentAttempt": 2})
    refused = ev.ExecutionRefused(id="refused", at=_at(5), execution_id="child",
                                  request=request, reason="Flow `ns.missing` is not known")
    decision = decide(None, None, refused)
    execution = decision.execution
    assert execution is not None
    assert [h.state for h in execution.state.histories] == ["CREATED", "FAILED"]
    assert {h.date for h in execution.state.histories} == {"2026-01-01T00:00:05.000000Z"}
    assert execution.finished
    assert execution.metadata["parentTaskRunId"] == "tr1"
    assert execution.parent_id == "parent"
    assert execution.task_run_list == []
    assert decision.commands == [cmd.EmitLog("child", None, None, "ERROR",
                                             "Flow `ns.missing` is not known", _at(5))]


def test_a_refused_request_with_a_known_flow_keeps_the_flow_labels() -> None:
    flow = flow_of("""
id: f
namespace: ns
labels:
  team: data
tasks:
  - id: a
    type: io.kestra.plugin.core.debug.Return
    format: x
""")
    refused = ev.ExecutionRefused(id="refused", at=T0, execution_id="ex1",
                                  request=_request(flow), reason="Invalid inputs")
    execution = decide(flow, None, refused).execution
    assert execution is not None and execution.labels["team"] == "data"
    assert execution.state.current == "FAILED"


def test_a_refusal_of_an_execution_that_exists_changes_nothing() -> None:
    flow, execution, _ = _started(_ONE_TASK)
    before = execution.to_dict()
    refused = ev.ExecutionRefused(id="refused", at=_at(1), execution_id="ex1",
                                  request=_request(flow), reason="late")
    decision = decide(flow, execution, refused)
    assert decision.commands == [] and decision.execution is execution
    assert execution.to_dict() == before


def test_created_execution_is_what_the_decider_builds_first() -> None:
    flow = flow_of(_ONE_TASK)
    request = _request(flow, labels={"k": "v"}, schedule_date=_at(60))
    expected = created_execution(request, flow).to_dict()
    execution = decide(flow, None, request).execution
    assert execution is not None
    actual = execution.to_dict()
    assert actual["state"] == expected["state"]  # a schedule date: still CREATED
    assert {k: v for k, v in actual.items() if k != "_ostinato"} == \
        {k: v for k, v in expected.items() if k != "_ostinato"}


# ---------------------------------------------------------------- Fault

_ONE_TASK = """
id: f
namespace: ns
tasks:
  - id: a
    type: io.kestra.plugin.core.debug.Return
    format: x
"""


def test_a_fault_ends_a_running_execution_failed_and_kills_its_worker_task() -> None:
    flow, execution, commands = _started(_ONE_TASK)
    run_cmd = commands[0]
    assert isinstance(run_cmd, cmd.RunTask)
    running = decide(flow, execution, _result(run_cmd, "RUNNING", 1)).execution
    decision = decide(flow, running, _fault())
    _assert_failed_by_fault(decision.execution)
    assert cmd.KillTask("ex1", run_cmd.task_run_id, attempt=run_cmd.attempt) in decision.commands
    assert decision.changed == [run_cmd.task_run_id]
    logs = [c for c in decision.commands if isinstance(c, cmd.EmitLog)]
    assert [(c.level, c.message) for c in logs] == [("ERROR", "Traceback: ZeroDivisionError")]


def test_a_fault_works_without_the_flow() -> None:
    flow, execution, _ = _started(_ONE_TASK)
    _assert_failed_by_fault(decide(None, execution, _fault()).execution)


def test_a_fault_on_a_paused_execution_cancels_its_timers() -> None:
    flow, execution, commands = _started("""
id: f
namespace: ns
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
    timeout: PT1H
""")
    assert execution.state.current == "PAUSED" and execution.timers
    timers = list(execution.timers)
    decision = decide(flow, execution, _fault())
    _assert_failed_by_fault(decision.execution)
    assert [c for c in decision.commands if isinstance(c, cmd.CancelTimer)] == \
        [cmd.CancelTimer("ex1", t) for t in timers]


def test_a_fault_in_the_errors_phase_ends_the_execution_failed() -> None:
    flow, execution, commands = _started("""
id: f
namespace: ns
tasks:
  - id: a
    type: io.kestra.plugin.core.execution.Fail
errors:
  - id: e
    type: io.kestra.plugin.core.debug.Return
    format: x
finally:
  - id: z
    type: io.kestra.plugin.core.debug.Return
    format: x
""")
    first = commands[0]
    assert isinstance(first, cmd.RunTask)
    decision = decide(flow, execution, _result(first, "FAILED", 1))
    errors_cmd = [c for c in decision.commands if isinstance(c, cmd.RunTask)][0]
    assert errors_cmd.task.id == "e"
    decision = decide(flow, decision.execution, _fault())
    _assert_failed_by_fault(decision.execution)
    assert cmd.KillTask("ex1", errors_cmd.task_run_id, attempt=errors_cmd.attempt) in decision.commands


def test_a_fault_on_a_queued_execution_ends_it_failed() -> None:
    flow, execution, commands = _started(_ONE_TASK, admission="QUEUED")
    assert execution.state.current == "QUEUED" and commands == []
    _assert_failed_by_fault(decide(flow, execution, _fault()).execution)


def test_a_fault_on_a_scheduled_execution_cancels_the_schedule_timer() -> None:
    flow, execution, commands = _started(_ONE_TASK, schedule_date=_at(3600))
    assert execution.state.current == "CREATED"
    (timer,) = [c for c in commands if isinstance(c, cmd.SetTimer)]
    decision = decide(flow, execution, _fault())
    _assert_failed_by_fault(decision.execution)
    assert cmd.CancelTimer("ex1", timer.timer_id) in decision.commands


def test_a_fault_kills_a_running_subflow_child_and_a_retrying_run_ends_failed() -> None:
    flow, execution, commands = _started("""
id: f
namespace: ns
tasks:
  - id: p
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: child
        type: io.kestra.plugin.core.flow.Subflow
        namespace: ns
        flowId: other
      - id: flaky
        type: io.kestra.plugin.core.debug.Return
        format: x
        retry:
          type: constant
          interval: PT1M
          maxAttempts: 3
""")
    (start,) = [c for c in commands if isinstance(c, cmd.StartSubflow)]
    (flaky,) = [c for c in commands if isinstance(c, cmd.RunTask)]
    retrying = decide(flow, execution, _result(flaky, "FAILED", 1)).execution
    assert retrying is not None and retrying.run(flaky.task_run_id).state.current == "RETRYING"
    decision = decide(flow, retrying, _fault())
    _assert_failed_by_fault(decision.execution)
    assert cmd.KillExecution(start.execution_id) in decision.commands
    assert not [c for c in decision.commands if isinstance(c, cmd.KillTask)]


@pytest.mark.parametrize("state", ["SUCCESS", "FAILED"])
def test_a_fault_on_a_finished_or_missing_execution_changes_nothing(state: str) -> None:
    flow, execution, commands = _started(_ONE_TASK)
    run_cmd = commands[0]
    assert isinstance(run_cmd, cmd.RunTask)
    ended = decide(flow, execution, _result(run_cmd, state, 1)).execution
    assert ended is not None and ended.finished
    before = ended.to_dict()
    decision = decide(flow, ended, _fault())
    assert decision.commands == [] and decision.changed == []
    assert ended.to_dict() == before
    assert decide(flow, None, _fault()).execution is None


def test_a_fault_during_after_execution_ends_the_execution_failed() -> None:
    flow, execution, commands = _started("""
id: f
namespace: ns
tasks:
  - id: a
    type: io.kestra.plugin.core.debug.Return
    format: x
afterExecution:
  - id: notify
    type: io.kestra.plugin.core.debug.Return
    format: y
""")
    first = commands[0]
    assert isinstance(first, cmd.RunTask)
    decision = decide(flow, execution, _result(first, "SUCCESS", 1))
    after = decision.execution
    assert after is not None and after.state.current == "SUCCESS" and not after.finished
    (notify,) = [c for c in decision.commands if isinstance(c, cmd.RunTask)]
    decision = decide(flow, after, _fault())
    _assert_failed_by_fault(decision.execution)
    assert cmd.KillTask("ex1", notify.task_run_id, attempt=notify.attempt) in decision.commands
