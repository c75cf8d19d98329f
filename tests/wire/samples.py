"""Sample objects with every field set, for the wire tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from ostinato.decider import events as ev
from ostinato.execution.model import Attempt, Execution, State, TaskRun, Timer, iso

T0 = datetime(2024, 5, 17, 8, 30, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def state(*steps: tuple[str, float]) -> State:
    st = State.created(at(steps[0][1]), steps[0][0])
    for name, seconds in steps[1:]:
        st.move(name, at(seconds))
    return st


def events() -> list[ev.Event]:
    """One event of each kind, every field set (and some left to their defaults)."""
    return [
        ev.ExecutionRequested(
            id="e1", at=at(0.000001), execution_id="ex1", namespace="company.team",
            flow_id="hello", flow_revision=3, tenant_id="main",
            inputs={"name": "Zoë", "n": 3, "ratio": 0.5, "ok": True, "none": None,
                    "list": [1, "two", {"three": 3}], "file": "kestra:///a/b.txt"},
            labels={"team": "data", "system.correlationId": "ex0"},
            trigger={"id": "schedule", "type": "io.kestra.plugin.core.trigger.Schedule",
                     "variables": {"date": "2024-05-17T08:30:00Z"}},
            schedule_date=at(3600), parent_id="ex0", original_id="ex-original",
            metadata={"attemptNumber": 2},
        ),
        ev.ExecutionRequested(id="e1b", at=at(1), execution_id="ex1b", namespace="n",
                              flow_id="f", flow_revision=1),
        ev.WorkerTaskResult(
            id="e2", at=at(2.5), execution_id="ex1", task_run_id="tr1", attempt=2,
            state="SUCCESS", outputs={"value": "héllo", "nested": {"a": [1, 2.5, None]}},
            logs=[{"level": "INFO", "message": "line 1"},
                  {"level": "ERROR", "message": "boom", "timestamp": at(2.25),
                   "thread": "worker-1"}],
            metrics=[{"name": "count", "type": "counter", "value": 3.0, "tags": {}}],
        ),
        ev.WorkerTaskResult(id="e2b", at=at(2), execution_id="ex1", task_run_id="tr1",
                            attempt=1, state="RUNNING"),
        ev.SubflowResult(
            id="e3", at=at(3), execution_id="ex1", task_run_id="tr2", attempt=1,
            child_execution_id="child1", state="FAILED", outputs={"out": 1},
            task_outputs={"t": {"value": "x"}}, message="child failed",
        ),
        ev.SubflowResult(id="e3b", at=at(3), execution_id="ex1", task_run_id="tr2", attempt=1,
                         child_execution_id="child1", state="SUCCESS"),
        ev.TimerFired(id="e4", at=at(4), execution_id="ex1", timer_id="retry/7"),
        ev.Kill(id="e5", at=at(5), execution_id="ex1"),
        ev.Resume(id="e6", at=at(6), execution_id="ex1", task_run_id="tr3",
                  inputs={"approved": True}),
        ev.Resume(id="e6b", at=at(6), execution_id="ex1"),
    ]


def task_run(ex_id: str, index: int, *, parent: str | None = None, each: list[str] | None = None,
             outputs: dict[str, Any] | None = None, terminal: bool = True) -> TaskRun:
    steps = [("CREATED", index), ("RUNNING", index + 0.5)]
    if terminal:
        steps.append(("SUCCESS", index + 1.123456))
    run = TaskRun(
        id=f"tr{index}", execution_id=ex_id, namespace="company.team", flow_id="hello",
        task_id=f"task{index % 7}", state=state(*steps), parent_task_run_id=parent,
        value=each[-1] if each else None, iteration=index if each else None,
        attempts=[Attempt(state(("CREATED", index), ("FAILED", index + 0.25))),
                  Attempt(state(*steps), [{"name": "rows", "type": "counter", "value": index}])],
        outputs=outputs, block="tasks", lane=index % 3, pos=index,
        each_values=list(each or []),
        progress={"phase": "tasks", "running": 0, "values": ["a", "b"]} if parent is None else {},
    )
    return run


def execution(task_runs: int = 6) -> Execution:
    """An execution with nested runs, each-values, attempts, outputs, progress and timers."""
    ex = Execution(
        id="ex1", namespace="company.team", flow_id="hello", flow_revision=3,
        state=state(("CREATED", 0), ("RUNNING", 0.001), ("PAUSED", 10)),
        tenant_id="main", inputs={"name": "Zoë", "n": 3}, labels={"team": "data"},
        outputs=None, trigger={"id": "t", "variables": {}}, parent_id=None,
        original_id="ex1", schedule_date=iso(at(-60)),
        metadata={"attemptNumber": 1, "originalCreatedDate": iso(at(0))},
        error_logs=[{"taskId": "task1", "taskRunId": "tr1", "message": "boom"}],
        progress={"phase": "tasks", "running": 1, "pausedRuns": ["tr5"]},
        timers={"pause/9": Timer("pause/9", iso(at(70.5)), "pause", "tr5"),
                "schedule/1": Timer("schedule/1", iso(at(80)), "schedule", None)},
        sequence=42,
    )
    ex.add(task_run(ex.id, 0, outputs=None))
    for i in range(1, task_runs):
        parent = "tr0"
        each = ["a", str(i % 2)] if i % 2 else []
        ex.add(task_run(ex.id, i, parent=parent, each=each,
                        outputs={"value": f"v{i}", "i": i}, terminal=i != task_runs - 1))
    return ex
