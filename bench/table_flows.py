"""The flows of issue 15's table and the times read from an execution's state histories.

Every figure comes from the dates the services wrote: a task run's RUNNING (set by the
worker when it starts the task) and its last state (set by the worker when it ends).
"""

from __future__ import annotations

import json
from datetime import datetime

from ostinato.execution.model import Execution, TaskRun
from ostinato.execution.states import StateType

from shared import instant

RETURN_TASK = """
  - id: t{i}
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ task.id }}}}"
"""
#: Windmill's benchmark task: fibo(10) in a fresh Python process
SCRIPT_TASK = """
  - id: t{i}
    type: io.kestra.plugin.scripts.python.Script
    script: |
      def fibo(n):
          return n if n < 2 else fibo(n - 1) + fibo(n - 2)
      print('::{{"outputs": {{"fibo": %d}}}}::' % fibo(10))
"""
FOREACH = """id: {flow_id}
namespace: bench
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    concurrencyLimit: 0
    values: '{values}'
    tasks:
      - id: item
        type: io.kestra.plugin.core.debug.Return
        format: "{{{{ taskrun.value }}}}"
"""
NESTED = """id: nested-{outer}x{inner}
namespace: bench
tasks:
  - id: outer
    type: io.kestra.plugin.core.flow.ForEach
    concurrencyLimit: 0
    values: '{outer_values}'
    tasks:
      - id: inner
        type: io.kestra.plugin.core.flow.ForEach
        concurrencyLimit: 0
        values: '{inner_values}'
        tasks:
          - id: item
            type: io.kestra.plugin.core.debug.Return
            format: "{{{{ taskrun.value }}}}"
"""
#: the two-task flow of Kestra's throughput benchmark
OUTPUT_THEN_LOG = """id: output-then-log
namespace: bench
tasks:
  - id: output
    type: io.kestra.plugin.core.output.OutputValues
    values:
      key: "{{ execution.id }}"
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ outputs.output.values.key }}"
"""


def sequential(flow_id: str, task: str, count: int) -> str:
    tasks = "".join(task.format(i=i) for i in range(count))
    return f"id: {flow_id}\nnamespace: bench\ntasks:{tasks}"


def values(count: int) -> str:
    return json.dumps([f"v{i}" for i in range(count)])


def foreach(count: int) -> str:
    return FOREACH.format(flow_id=f"foreach-{count}", values=values(count))


def nested(outer: int, inner: int) -> str:
    return NESTED.format(outer=outer, inner=inner, outer_values=values(outer), inner_values=values(inner))


def running_at(run: TaskRun) -> datetime:
    """When the worker started the task run (its first RUNNING)."""
    for history in run.state.histories:
        if history.state == StateType.RUNNING:
            return instant(history.date)
    raise ValueError(f"task run {run.task_id} ({run.id}) never was RUNNING")


def ended_at(run: TaskRun) -> datetime:
    return instant(run.state.histories[-1].date)


def task_ms(run: TaskRun) -> float:
    """RUNNING to the end: the task itself, on the worker."""
    return (ended_at(run) - running_at(run)).total_seconds() * 1000


def execution_seconds(execution: Execution) -> float:
    """The execution's first state to its last."""
    histories = execution.state.histories
    return (instant(histories[-1].date) - instant(histories[0].date)).total_seconds()


def span_seconds(runs: list[TaskRun]) -> float:
    """The first start to the last end of `runs`."""
    return (max(ended_at(r) for r in runs) - min(running_at(r) for r in runs)).total_seconds()


def children(execution: Execution, task_id: str = "item") -> list[TaskRun]:
    return [r for r in execution.task_run_list if r.task_id == task_id]


def gaps_ms(execution: Execution) -> list[float]:
    """Between each task run's end and the next one's RUNNING, of a sequential execution
    (both dates are the worker's: its attempt's end, the next attempt's RUNNING)."""
    gaps = []
    runs = execution.task_run_list
    for before, after in zip(runs, runs[1:]):
        ended = instant(before.attempts[-1].state.histories[-1].date)
        started = next(h.date for h in after.attempts[0].state.histories if h.state == StateType.RUNNING)
        gaps.append((instant(started) - ended).total_seconds() * 1000)
    return gaps
