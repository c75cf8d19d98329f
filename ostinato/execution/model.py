"""Executions, task runs, attempts and states, shaped like Kestra's execution JSON.

Plain mutable dataclasses: the decider updates one task run per event in place, and an
index by id keeps every lookup O(1) however large the execution grows. `to_dict` gives
Kestra's camelCase JSON; ostinato's own bookkeeping travels under `_ostinato`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ostinato.execution.progress import ExecutionProgress, Phase, TaskRunProgress
from ostinato.execution.states import ALL_STATES, FAILED_STATES, TERMINAL_STATES, StateType, state_of


def iso(moment: datetime) -> str:
    """An ISO-8601 instant in UTC with a Z suffix and always six fraction digits, so that
    two dates compare as text the way they compare in time."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds") + "Z"


@dataclass
class History:
    state: str
    date: str

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "date": self.date}


@dataclass
class State:
    """The current state and every state passed through, with its date."""

    current: StateType
    histories: list[History]

    def __init__(self, current: StateType | str = StateType.CREATED,
                 histories: list[History] | None = None) -> None:
        # a record gives the state as text; one __init__ (no __post_init__): a hot path
        self.current = current if type(current) is StateType else state_of(current)
        self.histories = [] if histories is None else histories

    @classmethod
    def created(cls, at: datetime, state: StateType = StateType.CREATED) -> State:
        return cls(state, [History(state, iso(at))])

    def move(self, state: StateType, at: datetime) -> None:
        """Enter `state` (a repeat of the current state is not recorded twice)."""
        if state != self.current or not self.histories:
            self.current = state
            self.histories.append(History(state, iso(at)))

    @property
    def terminal(self) -> bool:
        return self.current in TERMINAL_STATES

    @property
    def start_date(self) -> str | None:
        return self.histories[0].date if self.histories else None

    @property
    def end_date(self) -> str | None:
        return self.histories[-1].date if self.terminal and self.histories else None

    def count(self, state: StateType) -> int:
        return sum(1 for h in self.histories if h.state == state)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "current": self.current,
            "histories": [h.to_dict() for h in self.histories],
            "startDate": self.start_date,
        }
        if self.end_date:
            out["endDate"] = self.end_date
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> State:
        return cls(data["current"], [History(h["state"], h["date"]) for h in data["histories"]])


@dataclass
class Attempt:
    state: State
    metrics: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state.to_dict(), "metrics": self.metrics}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Attempt:
        return cls(State.from_dict(data["state"]), list(data.get("metrics") or []))


@dataclass
class TaskRun:
    """One run of one task (for one iteration value) with its attempts and outputs."""

    id: str
    execution_id: str
    namespace: str
    flow_id: str
    task_id: str
    state: State
    parent_task_run_id: str | None = None
    value: str | None = None
    iteration: int | None = None
    attempts: list[Attempt] = field(default_factory=list)
    outputs: dict[str, Any] | None = None
    # --- ostinato bookkeeping (not in Kestra's JSON) ---
    #: the parent's child list this run belongs to: tasks, errors, finally, after
    block: str = Phase.TASKS
    #: lane (iteration group) and position in the lane inside the parent
    lane: int = 0
    pos: int = 0
    #: iteration values of the enclosing each-loops, outermost first (outputs nest by them)
    each_values: list[str] = field(default_factory=list)
    #: a flowable's progress (phase, counters, rendered values); empty for runnables
    progress: TaskRunProgress = field(default_factory=TaskRunProgress)

    def __post_init__(self) -> None:
        if type(self.progress) is dict:  # its JSON form, as a record gives it
            self.progress = TaskRunProgress.from_dict(self.progress)

    @property
    def outputs_readable(self) -> bool:
        """Whether templates see this run's outputs: once it has ended, or (a flowable, which
        has no attempts) from the moment it set them as it began (a Switch's `value`, a
        loop's `iterationCount`), for its children to read. A run waiting to retry keeps its
        failed attempt's outputs to itself."""
        if self.outputs is None:
            return False
        return self.state.terminal or not self.attempts

    def to_dict(self, *, internal: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "executionId": self.execution_id,
            "namespace": self.namespace,
            "flowId": self.flow_id,
            "taskId": self.task_id,
            "parentTaskRunId": self.parent_task_run_id,
            "value": self.value,
            "iteration": self.iteration,
            "attempts": [a.to_dict() for a in self.attempts] or None,
            "outputs": self.outputs,
            "state": self.state.to_dict(),
        }
        if internal:
            out["_ostinato"] = {
                "block": self.block,
                "lane": self.lane,
                "pos": self.pos,
                "eachValues": self.each_values,
                "progress": self.progress.to_dict(),
            }
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskRun:
        extra = data.get("_ostinato") or {}
        return cls(
            id=data["id"],
            execution_id=data["executionId"],
            namespace=data["namespace"],
            flow_id=data["flowId"],
            task_id=data["taskId"],
            state=State.from_dict(data["state"]),
            parent_task_run_id=data.get("parentTaskRunId"),
            value=data.get("value"),
            iteration=data.get("iteration"),
            attempts=[Attempt.from_dict(a) for a in data.get("attempts") or []],
            outputs=data.get("outputs"),
            block=extra.get("block", Phase.TASKS),
            lane=extra.get("lane", 0),
            pos=extra.get("pos", 0),
            each_values=list(extra.get("eachValues") or []),
            progress=TaskRunProgress.from_dict(extra.get("progress")),
        )


@dataclass
class Timer:
    """A wake-up the executor owes this execution (retry delay, pause, schedule date)."""

    id: str
    fire_at: str
    kind: str
    task_run_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "fireAt": self.fire_at, "kind": self.kind,
                "taskRunId": self.task_run_id}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Timer:
        return cls(data["id"], data["fireAt"], data["kind"], data.get("taskRunId"))


@dataclass
class Execution:
    """An execution of one flow revision. Task runs are indexed by id."""

    id: str
    namespace: str
    flow_id: str
    flow_revision: int
    state: State
    tenant_id: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] | None = None
    trigger: dict[str, Any] | None = None
    parent_id: str | None = None
    original_id: str | None = None
    schedule_date: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    task_run_list: list[TaskRun] = field(default_factory=list)
    # --- ostinato bookkeeping ---
    #: outputs of every task run, nested by task id then each-values (Kestra's `outputs`)
    task_outputs: dict[str, Any] = field(default_factory=dict)
    #: ERROR-level log lines ({taskId, message}) that `errorLogs()` returns
    error_logs: list[dict[str, Any]] = field(default_factory=list)
    #: progress of the flow's own task lists (tasks, errors, finally, afterExecution)
    progress: ExecutionProgress = field(default_factory=ExecutionProgress)
    timers: dict[str, Timer] = field(default_factory=dict)
    #: counter that derives deterministic ids for new task runs and timers
    sequence: int = 0
    _by_id: dict[str, TaskRun] = field(default_factory=dict, repr=False, compare=False)
    _position: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if type(self.progress) is dict:  # its JSON form, as a record gives it
            self.progress = ExecutionProgress.from_dict(self.progress)
        self._by_id = {run.id: run for run in self.task_run_list}
        self._position = {run.id: i for i, run in enumerate(self.task_run_list)}

    # ---- task runs
    def add(self, run: TaskRun) -> TaskRun:
        self._position[run.id] = len(self.task_run_list)
        self.task_run_list.append(run)
        self._by_id[run.id] = run
        return run

    def put(self, index: int, run: TaskRun) -> None:
        """Replace the task run at `index` with a newer copy of it, or append at the end."""
        if index == len(self.task_run_list):
            self.add(run)
            return
        old = self.task_run_list[index]
        del self._by_id[old.id]
        del self._position[old.id]
        self.task_run_list[index] = run
        self._by_id[run.id] = run
        self._position[run.id] = index

    def record_outputs(self, run: TaskRun) -> None:
        """Put a run's outputs in `task_outputs`, nested by its each-values."""
        if run.outputs is None:
            return
        if not run.each_values:
            self.task_outputs[run.task_id] = run.outputs
            return
        node = self.task_outputs.setdefault(run.task_id, {})
        for value in run.each_values[:-1]:
            node = node.setdefault(value, {})
        node[run.each_values[-1]] = run.outputs

    def index_of(self, task_run_id: str) -> int | None:
        """The position of a task run in `task_run_list`."""
        return self._position.get(task_run_id)

    def run(self, task_run_id: str) -> TaskRun:
        return self._by_id[task_run_id]

    def find(self, task_run_id: str) -> TaskRun | None:
        return self._by_id.get(task_run_id)

    def parents_of(self, run: TaskRun) -> list[TaskRun]:
        """Ancestors of `run`, nearest first."""
        out: list[TaskRun] = []
        parent_id = run.parent_task_run_id
        while parent_id is not None:
            parent = self._by_id[parent_id]
            out.append(parent)
            parent_id = parent.parent_task_run_id
        return out

    def runs_of(self, task_id: str) -> list[TaskRun]:
        """Task runs of one task, in creation order (a scan: for tests and tools only)."""
        return [run for run in self.task_run_list if run.task_id == task_id]

    @property
    def finished(self) -> bool:
        """Terminal, with its finally and afterExecution tasks done too."""
        return self.state.terminal and self.progress.ended

    # ---- serialization
    def to_dict(self, *, internal: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "namespace": self.namespace,
            "flowId": self.flow_id,
            "flowRevision": self.flow_revision,
            "tenantId": self.tenant_id,
            "inputs": self.inputs,
            "labels": [{"key": k, "value": v} for k, v in self.labels.items()],
            "outputs": self.outputs,
            "trigger": self.trigger,
            "parentId": self.parent_id,
            "originalId": self.original_id or self.id,
            "scheduleDate": self.schedule_date,
            "metadata": self.metadata,
            "state": self.state.to_dict(),
            "taskRunList": [run.to_dict(internal=internal) for run in self.task_run_list],
        }
        if internal:
            out["_ostinato"] = {
                "taskOutputs": self.task_outputs,
                "errorLogs": self.error_logs,
                "progress": self.progress.to_dict(),
                "timers": [t.to_dict() for t in self.timers.values()],
                "sequence": self.sequence,
            }
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Execution:
        extra = data.get("_ostinato") or {}
        timers = [Timer.from_dict(t) for t in extra.get("timers") or []]
        return cls(
            id=data["id"],
            namespace=data["namespace"],
            flow_id=data["flowId"],
            flow_revision=data["flowRevision"],
            tenant_id=data.get("tenantId"),
            state=State.from_dict(data["state"]),
            inputs=data.get("inputs") or {},
            labels={item["key"]: item["value"] for item in data.get("labels") or []},
            outputs=data.get("outputs"),
            trigger=data.get("trigger"),
            parent_id=data.get("parentId"),
            original_id=data.get("originalId"),
            schedule_date=data.get("scheduleDate"),
            metadata=data.get("metadata") or {},
            task_run_list=[TaskRun.from_dict(r) for r in data.get("taskRunList") or []],
            task_outputs=extra.get("taskOutputs") or {},
            error_logs=list(extra.get("errorLogs") or []),
            progress=ExecutionProgress.from_dict(extra.get("progress")),
            timers={t.id: t for t in timers},
            sequence=extra.get("sequence", 0),
        )
