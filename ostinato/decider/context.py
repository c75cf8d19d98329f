"""The variables a template renders with, built from the execution without copying it.

Every piece is a reference into the execution (outputs, inputs) or a small dict, so the cost
of building a context depends on the depth of the task run, not on the size of the execution.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ostinato.execution.model import Execution, TaskRun
from ostinato.flow.model import Flow
from ostinato.flow.tasks import Task


@dataclass(frozen=True)
class Settings:
    """What the decider is configured with (no environment is read inside the decider)."""

    #: KESTRA_-prefixed environment variables, prefix stripped and lower-cased
    envs: dict[str, str] = field(default_factory=dict)
    globals: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    #: the most task runs an execution may have (OSTINATO_MAX_TASK_RUNS): a ForEach whose
    #: values would pass it fails at once, and a task run past it is created FAILED
    max_task_runs: int = 50_000


def envs_from(environ: dict[str, str] | Any) -> dict[str, str]:
    """Kestra's `envs`: KESTRA_-prefixed variables, prefix stripped and name lower-cased."""
    return {k[len("KESTRA_"):].lower(): v for k, v in environ.items() if k.startswith("KESTRA_")}


def nested_labels(labels: dict[str, Any]) -> dict[str, Any]:
    """Labels as a map, with dotted keys also nested (`labels.system.correlationId`)."""
    out: dict[str, Any] = dict(labels)
    for key, value in labels.items():
        if "." not in key:
            continue
        node = out
        *head, last = key.split(".")
        for part in head:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[last] = value
    return out


def _taskrun_vars(run: TaskRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "startDate": run.state.start_date,
        "parentId": run.parent_task_run_id,
        "value": run.value,
        "iteration": run.iteration,
        "attemptsCount": max(len(run.attempts) - 1, 0),
    }


def execution_seed(execution: Execution, now: datetime) -> str:
    """The seed of uuid()/randomInt() in a render that belongs to no task run.

    It names the moment of the execution (DESIGN.md invariant 10: replaying the same events
    renders the same values): the sequence of its task runs and timers, its state and how
    many states it went through, its phase (tasks, errors, finally) and the event's time."""
    return (f"execution/{execution.id}/{execution.sequence}/{execution.state.current}"
            f"/{len(execution.state.histories)}/{_phase(execution)}/{now.isoformat()}")


def _phase(execution: Execution) -> str:
    """The execution's phase as text ("tasks", "errors", "finally", "done"; "" before any),
    whether its progress is kept as a dict or as a typed object with a `phase`."""
    progress: Any = execution.progress
    phase = progress.get("phase") if isinstance(progress, dict) else getattr(progress, "phase", None)
    return "" if phase is None else str(phase)


def task_run_seed(execution: Execution, run: TaskRun) -> str:
    """The seed of uuid()/randomInt() in a render for task run `run`.

    Task run ids derive from the execution id and its sequence, so the id, the attempt and
    the number of states the run went through tell apart its renders: `runIf` (no attempt
    yet) from its flowable's own properties (RUNNING) and from the properties a worker
    renders for each attempt (the seed travels in the worker task, so a duplicate delivery
    of one attempt renders the same values and a retry renders new ones)."""
    return f"taskrun/{execution.id}/{run.id}/{len(run.attempts)}/{len(run.state.histories)}"


def task_states(execution: Execution) -> dict[str, Any]:
    """Kestra's `tasks` variable: `tasks.<taskId>.state` is the current state of the task's
    run, and for runs with a value (inside ForEach) `tasks.<taskId>[<value>].state`; the
    latest run wins (a retry, a loop's iterations)."""
    states: dict[str, Any] = {}
    for run in execution.task_run_list:
        state = {"state": str(run.state.current)}
        if run.value is None:
            states[run.task_id] = state
            continue
        by_value = states.get(run.task_id)
        if not isinstance(by_value, dict) or "state" in by_value:
            by_value = states[run.task_id] = {}
        by_value[run.value] = state
    return states


def base_context(flow: Flow, execution: Execution, settings: Settings, now: datetime) -> dict[str, Any]:
    """Variables that do not depend on a task run (flow outputs, trigger inputs)."""
    context: dict[str, Any] = {
        "flow": {
            "id": flow.id,
            "namespace": flow.namespace,
            "revision": execution.flow_revision,
            "tenantId": execution.tenant_id,
        },
        "execution": {
            "id": execution.id,
            "startDate": execution.state.start_date,
            "originalId": execution.original_id or execution.id,
            "state": execution.state.current,
        },
        "outputs": execution.task_outputs,
        "vars": flow.variables,
        "labels": nested_labels(execution.labels),
        # Kestra exposes the trigger's variables as `trigger` (`trigger.executionId`)
        "trigger": (execution.trigger or {}).get("variables", execution.trigger),
        "envs": settings.envs,
        "globals": settings.globals,
        "__now__": now,
        "__seed__": execution_seed(execution, now),
        "__secrets__": settings.secrets,
        "__error_logs__": execution.error_logs,
        "__each_values__": [],
    }
    if flow.reads_task_states():  # built only for flows that read it: a scan of the runs
        context["tasks"] = task_states(execution)
    # As in Kestra, `inputs` exists only for a flow that declares inputs (or got some).
    if flow.inputs or execution.inputs:
        context["inputs"] = _inputs_with_defaults(flow, execution.inputs)
    return context


def _inputs_with_defaults(flow: Flow, inputs: dict[str, Any]) -> dict[str, Any]:
    """The execution's inputs, with the flow's defaults of those it lacks (Kestra's
    RunVariables adds them: an execution started without typing its inputs, by a test or a
    trigger, still reads them). The execution's own dict when nothing is missing."""
    missing = {i.id: i.defaults for i in flow.inputs if i.defaults is not None and i.id not in inputs}
    return {**inputs, **missing} if missing else inputs


def task_context(
    flow: Flow,
    execution: Execution,
    run: TaskRun,
    task: Task,
    settings: Settings,
    now: datetime,
) -> dict[str, Any]:
    """Variables for rendering `task`'s properties in task run `run`."""
    context = base_context(flow, execution, settings, now)
    context["task"] = {"id": task.id, "type": task.type}
    context["taskrun"] = _taskrun_vars(run)
    parents = [
        {"taskrun": {"id": p.id, "value": p.value, "iteration": p.iteration}, "outputs": p.outputs}
        for p in execution.parents_of(run)
    ]
    if parents:
        context["parents"] = parents
        context["parent"] = parents[0]
    context["__each_values__"] = run.each_values
    context["__seed__"] = task_run_seed(execution, run)
    return context
