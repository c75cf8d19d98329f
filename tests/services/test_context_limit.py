"""The context limit counts the context, not the bookkeeping (DESIGN.md invariant 4, issue 10):
an execution of many task runs with small outputs is legal under a small limit, and outputs
really too big fail their task run with a message naming the right sizes."""

from __future__ import annotations

import pytest

from ostinato.cli.stack import LocalStack
from ostinato.harness import ServiceRunner
from ostinato.kafka.follower import Follower
from ostinato.wire import records as rec

LIMIT = 100_000
TIMEOUT = 120.0


@pytest.fixture
def limited(bare_stack: LocalStack, bare_bus: ServiceRunner) -> ServiceRunner:
    env = {"OSTINATO_CONTEXT_LIMIT": str(LIMIT)}
    bare_stack.spawn("executor", env=env)
    bare_stack.spawn("worker", env=env)
    return bare_bus


def test_many_task_runs_with_small_outputs_fit_a_small_context_limit(limited: ServiceRunner) -> None:
    # 1,500 iterations (1,501 task runs): their task-run records alone are about 6 times
    # the limit, their outputs (`{"value": "<n>"}`) a quarter of it; the finished execution
    # is written in parts (rec.PART_RUNS runs each), none near the largest record allowed
    values = list(range(1_500))
    flow = limited.deploy(f"""
id: many-runs
namespace: tests.context
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: {values}
    concurrencyLimit: 0
    tasks:
      - id: small
        type: io.kestra.plugin.core.debug.Return
        format: "{{{{ taskrun.value }}}}"
""")
    execution = limited.run(flow, timeout=TIMEOUT)
    errors = [line.message for line in limited.logs_of(execution.id) if line.level == "ERROR"]
    assert execution.state.current == "SUCCESS", errors[:3]
    assert len(execution.runs_of("small")) == len(values)
    runs = len(execution.task_run_list)
    results = records_of(limited, "execution-results", execution.id)
    assert len(results) == rec.part_count(runs) > 1
    final = records_of(limited, "executions", execution.id)[-len(results):]
    assert [key for key, _ in final] == [rec.part_key(execution.id, part, len(results))
                                         for part in range(len(results))]
    largest = max(len(value) for _, value in results + final)
    assert largest < 2 * LIMIT, f"a record of {largest} bytes"  # bounded by PART_RUNS, not by runs
    # whole, the execution would be over the largest record the executor writes (4 x limit)
    assert sum(len(value) for _, value in results) > 4 * LIMIT


def records_of(runner: ServiceRunner, topic: str, execution_id: str) -> list[tuple[str, bytes]]:
    """(key, value) of the execution's records on `topic`, in the order written."""
    follower = Follower.of_topics(runner.settings, [topic])
    found: list[tuple[str, bytes]] = []
    try:
        while not follower.reached_end:
            found += [(r.key or "", r.value) for r in follower.poll(1000, 0.2)
                      if r.value is not None and rec.execution_id_of_key(r.key) == execution_id]
    finally:
        follower.close()
    return found


def test_outputs_really_too_big_fail_with_the_context_sizes(limited: ServiceRunner) -> None:
    flow = limited.deploy("""
id: too-big
namespace: tests.context
inputs:
  - id: pad
    type: STRING
tasks:
  - id: first
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.pad }}"
  - id: second
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.pad }}"
""")
    pad = "x" * 40_000  # inputs + first + second: about 120 KB
    execution = limited.run(flow, {"pad": pad}, timeout=TIMEOUT)
    assert execution.state.current == "FAILED"
    second = execution.runs_of("second")[0]
    assert execution.runs_of("first")[0].state.current == "SUCCESS" and second.state.current == "FAILED"
    message = limited.wait_for(lambda: [line.message for line in limited.logs_of(execution.id)
                                        if line.task_run_id == second.id and line.level == "ERROR"],
                               what="the error of the second task run")[0]
    sizes = [int(word) for word in message.replace(",", " ").replace("(", " ").split() if word.isdigit()]
    # outputs of this run, the context with them, the limit, then its parts
    added, total, limit = sizes[:3]
    assert limit == LIMIT and 120_000 < total < 120_300, message
    assert 40_000 < added < 40_100, message
    assert sizes[3:5] and 40_000 < sizes[3] < 40_200 and 40_000 < sizes[4] < 40_100, message
    assert "inputs" in message and "internal storage" in message, message
