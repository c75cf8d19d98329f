"""Where the seeds of uuid()/randomInt() come from (invariant 10), without a broker.

The decider seeds every render it makes; a worker renders with the seed of its attempt,
carried in the worker task, so a duplicate delivery renders the same values and a retry
new ones.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from ostinato.decider import Settings, decide
from ostinato.decider import commands as cmd
from ostinato.decider import events as ev
from ostinato.decider.context import base_context, task_context
from ostinato.execution.model import Attempt, Execution, State, TaskRun
from ostinato.flow.parser import parse_flow
from ostinato.inprocess import InProcessRunner
from ostinato.storage import LocalStorage
from ostinato.tasks import RunContext, run_task
from ostinato.wire import worker_task_from_record, worker_task_record
from ostinato.services.executor.variables import worker_variables

AT = datetime(2024, 1, 1, tzinfo=timezone.utc)
FLOW = parse_flow("""
id: seeds
namespace: io.kestra.replay
tasks:
  - id: token
    type: io.kestra.plugin.core.debug.Return
    format: "{{ taskrun.attemptsCount >= 1 ? uuid() : missing }}"
    retry:
      type: constant
      interval: PT1S
      maxAttempt: 3
  - id: plain
    type: io.kestra.plugin.core.debug.Return
    format: "{{ taskrun.id }}"
""")


def _execution() -> Execution:
    return Execution(id="exec1", namespace="io.kestra.replay", flow_id="seeds", flow_revision=1,
                     state=State.created(AT))


def _run(run_id: str, attempts: int) -> TaskRun:
    return TaskRun(id=run_id, execution_id="exec1", namespace="io.kestra.replay", flow_id="seeds",
                   task_id="token", state=State.created(AT),
                   attempts=[Attempt(State.created(AT)) for _ in range(attempts)])


def test_every_decider_context_is_seeded_and_renders_differ() -> None:
    execution, task, settings = _execution(), FLOW.task("token"), Settings()
    seeds = {
        base_context(FLOW, execution, settings, AT)["__seed__"],
        task_context(FLOW, execution, _run("r1", 0), task, settings, AT)["__seed__"],
        task_context(FLOW, execution, _run("r1", 1), task, settings, AT)["__seed__"],
        task_context(FLOW, execution, _run("r1", 2), task, settings, AT)["__seed__"],
        task_context(FLOW, execution, _run("r2", 1), task, settings, AT)["__seed__"],
    }
    assert len(seeds) == 5 and all(isinstance(seed, str) and seed for seed in seeds)
    # the same render again: the same seed
    assert (task_context(FLOW, execution, _run("r1", 1), task, settings, AT)["__seed__"]
            in seeds)
    execution.sequence += 1
    assert base_context(FLOW, execution, settings, AT)["__seed__"] not in seeds


def _run_tasks(tmp_path: Path) -> list[cmd.RunTask]:
    """The RunTask commands the decider gives when replaying a run of FLOW."""
    recorded: list[ev.Event] = []
    runner = InProcessRunner(storage_dir=tmp_path, on_event=recorded.append)
    runner.deploy(FLOW)
    assert runner.run(FLOW).state.current == "SUCCESS"
    commands: list[cmd.RunTask] = []
    execution = None
    for event in recorded:
        decision = decide(FLOW, execution, event)
        execution = decision.execution
        commands += [c for c in decision.commands if isinstance(c, cmd.RunTask)]
    return commands


def _render(command: cmd.RunTask, storage: Path) -> object:
    context = RunContext(variables=dict(command.variables), storage=LocalStorage(storage),
                         clock=lambda: AT)
    outcome = run_task(command.task, context)
    assert outcome.state == "SUCCESS", outcome.logs
    return (outcome.outputs or {})["value"]


def test_a_worker_renders_one_attempt_the_same_and_a_retry_anew(tmp_path: Path) -> None:
    commands = [c for c in _run_tasks(tmp_path / "run") if c.task.id == "token"]
    assert [c.attempt for c in commands] == [1, 2]
    first, retry = commands
    assert first.variables["__seed__"] != retry.variables["__seed__"]

    # what travels: the seed is shipped when the task draws, through the wire record
    shipped = [worker_task_from_record(worker_task_record(
        cmd.RunTask(c.execution_id, c.task_run_id, c.attempt, c.task,
                    worker_variables(c.task, c.variables)),
        namespace="io.kestra.replay", flow_id="seeds", at=AT)).run_task() for c in (retry, retry)]
    delivered, duplicate = (_render(c, tmp_path / "storage") for c in shipped)
    assert delivered == duplicate  # a duplicate delivery of one attempt renders the same
    assert len(str(delivered)) == 36
    # a retry is a new render: the retried attempt's values differ from the attempt before
    earlier = cmd.RunTask(first.execution_id, first.task_run_id, 2, first.task,
                          {**first.variables, "taskrun": retry.variables["taskrun"]})
    assert _render(earlier, tmp_path / "storage") != delivered


def test_only_a_task_that_draws_ships_the_seed() -> None:
    variables = {"flow": {}, "execution": {}, "task": {}, "taskrun": {}, "__seed__": "s",
                 "__now__": AT}
    assert "__seed__" in worker_variables(FLOW.task("token"), variables)
    assert "__seed__" not in worker_variables(FLOW.task("plain"), variables)
