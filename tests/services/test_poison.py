"""One event, record or flow never stops the executor (DESIGN.md, invariant 9).

An exception while handling one event fails that execution with the reason and sends the
event to the dead letters; a record too large to produce fails its execution; a record whose
key is not its execution id is refused. The executor goes on with everything else.
"""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Producer

from ostinato.cli.stack import LocalStack
from ostinato.decider import events as ev
from ostinato.harness import ServiceRunner
from ostinato.wire import records as rec
from ostinato.wire.codec import default_codec
from tests.services.test_failures import (FAILOVER_TIMEOUT, NAP, RETURN, _dead_letters, log_text,
                                          sequential_flow)


@pytest.fixture
def stack(bare_stack: LocalStack) -> LocalStack:
    return bare_stack


@pytest.fixture
def bus(bare_bus: ServiceRunner) -> ServiceRunner:
    return bare_bus


#: flows whose templates make the decider itself raise (an unparsable duration it renders)
POISONS = {
    "pause-duration": """
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
    pauseDuration: "{{ 'not-a-duration' }}"
""",
    "retry-interval": """
  - id: fail
    type: io.kestra.plugin.core.execution.Fail
    retry:
      type: constant
      interval: "{{ 'not-a-duration' }}"
      maxAttempts: 2
""",
    "pause-timeout": """
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
    timeout: "{{ 'not-a-duration' }}"
""",
}


def test_an_event_that_makes_decide_raise_fails_its_execution_and_the_executor_goes_on(
        stack: LocalStack, bus: ServiceRunner) -> None:
    executor = stack.spawn("executor")
    stack.spawn("worker")
    bus.watcher.wait(lambda: "partitions assigned" in log_text(executor), what="the executor joined")
    slow = bus.start(bus.deploy(sequential_flow("slow-neighbour", 6, NAP)))
    poisoned = {name: bus.start(bus.deploy(f"id: poison-{name}\nnamespace: tests.poison\ntasks:{tasks}"))
                for name, tasks in POISONS.items()}
    for name, execution_id in poisoned.items():
        execution = bus.wait_finished(execution_id, timeout=FAILOVER_TIMEOUT)
        assert execution.state.current == "FAILED", name
        assert all(run.state.terminal for run in execution.task_run_list), name
        errors = bus.wait_for(lambda: [line.message for line in bus.logs_of(execution_id)
                                       if line.level == "ERROR" and "InvalidDuration" in line.message],
                              what=f"the error of {name}")
        assert "not-a-duration" in errors[0], errors
        assert "Traceback" in errors[0] and "durations.py" in errors[0], errors[0]
    # the execution that was running alongside, and one started after, both end well
    assert bus.wait_finished(slow, timeout=FAILOVER_TIMEOUT).state.current == "SUCCESS"
    after = bus.run(bus.deploy(sequential_flow("after-poison", 2, RETURN)), timeout=FAILOVER_TIMEOUT)
    assert after.state.current == "SUCCESS"
    assert executor.alive()
    letters = _dead_letters(stack)
    refused = {letter.key for letter in letters}
    assert refused == set(poisoned.values()), letters
    assert all("InvalidDuration" in letter.reason for letter in letters), letters


def test_a_record_too_large_to_produce_fails_its_execution_and_the_executor_goes_on(
        stack: LocalStack, bus: ServiceRunner) -> None:
    """A context limit of 100 kB makes the executor's producer refuse records over 400 kB:
    a ForEach's values (about 690 kB) and a flow's variables (500 kB) are over it."""
    executor = stack.spawn("executor", extra=["--context-limit", "100000"])
    stack.spawn("worker")
    bus.watcher.wait(lambda: "partitions assigned" in log_text(executor), what="the executor joined")
    values = bus.deploy("""
id: huge-values
namespace: tests.poison
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: "{{ range(0, 99999) | list }}"
    tasks:
      - id: echo
        type: io.kestra.plugin.core.debug.Return
        format: "{{ taskrun.value }}"
""")
    variables = bus.deploy(
        f"id: huge-variables\nnamespace: tests.poison\nvariables:\n  big: {'x' * 500_000}\n"
        "tasks:\n  - id: echo\n    type: io.kestra.plugin.core.debug.Return\n    format: \"{{ vars.big | length }}\"\n")
    for flow in (values, variables):
        execution = bus.run(flow, timeout=FAILOVER_TIMEOUT)
        assert execution.state.current == "FAILED", flow.id
        errors = bus.wait_for(lambda: [line.message for line in bus.logs_of(execution.id)
                                       if line.level == "ERROR"], what=f"the error of {flow.id}")
        assert "400000 bytes" in errors[0] and "context limit" in errors[0], errors[0]
        sizes = [int(word) for word in errors[0].replace(",", " ").split() if word.isdigit()]
        assert any(size > 400_000 for size in sizes), errors[0]
    after = bus.run(bus.deploy(sequential_flow("after-too-large", 2, RETURN)), timeout=FAILOVER_TIMEOUT)
    assert after.state.current == "SUCCESS"
    assert executor.alive()


def test_a_mis_keyed_record_is_refused_and_never_reopens_a_finished_execution(
        stack: LocalStack, bus: ServiceRunner) -> None:
    executor = stack.spawn("executor")
    stack.spawn("worker")
    flow = bus.deploy(sequential_flow("keyed", 2, RETURN))
    execution_id = bus.start(flow)
    assert bus.wait_finished(execution_id, timeout=FAILOVER_TIMEOUT).state.current == "SUCCESS"
    again = ev.ExecutionRequested(id=str(uuid.uuid4()), at=bus.now, execution_id=execution_id,
                                  namespace=flow.namespace, flow_id=flow.id, flow_revision=flow.revision or 1)
    settings = stack.settings()
    producer = Producer(settings.producer())
    name, record = rec.event_to_record(again)
    for key in ("another-key-1", "another-key-2", "another-key-3"):  # some other partitions
        producer.produce(settings.topic("executor"), key=key.encode(),
                         value=default_codec().encode(name, record))
    producer.flush(10)
    # a barrier: an execution started after the mis-keyed records has run
    assert bus.run(flow, timeout=FAILOVER_TIMEOUT).state.current == "SUCCESS"
    letters = bus.wait_for(lambda: [letter for letter in _dead_letters(stack)
                                    if letter.key and letter.key.startswith("another-key")],
                           timeout=FAILOVER_TIMEOUT, what="the mis-keyed records dead-lettered")
    assert len(letters) == 3, letters
    assert all(execution_id in letter.reason and "key" in letter.reason for letter in letters), letters
    assert bus.executions[execution_id].state.current == "SUCCESS"
    assert executor.alive()
