"""A Flow trigger's precondition window survives a restart of the scheduler."""

from __future__ import annotations

import os
import signal

from ostinato.cli.stack import LocalStack
from ostinato.harness import ServiceRunner

UPSTREAM = """
id: {flow_id}
namespace: tests.windows
tasks:
  - id: only
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ execution.id }}}}"
"""
LISTENER = """
id: both-done
namespace: tests.windows
tasks:
  - id: only
    type: io.kestra.plugin.core.debug.Return
    format: "after {{ trigger.flowId }}"
triggers:
  - id: both
    type: io.kestra.plugin.core.trigger.Flow
    preconditions:
      id: both
      flows:
        - {namespace: tests.windows, flowId: first, states: [SUCCESS]}
        - {namespace: tests.windows, flowId: second, states: [SUCCESS]}
"""


def test_a_half_met_window_is_still_there_after_the_scheduler_restarts(
        fresh_stack: LocalStack, fresh_bus: ServiceRunner) -> None:
    bus = fresh_bus
    first = bus.deploy(UPSTREAM.format(flow_id="first"))
    second = bus.deploy(UPSTREAM.format(flow_id="second"))
    bus.deploy(LISTENER)
    scheduler = fresh_stack.spawn("scheduler")
    assert bus.run(first).state.current == "SUCCESS"
    # the window is written once the scheduler has read first's end
    bus.wait_for(lambda: _window_written(fresh_stack), what="the window recorded", timeout=60)
    os.killpg(scheduler.process.pid, signal.SIGKILL)
    scheduler.process.wait(10)
    fresh_stack.spawn("scheduler", instance="again")
    assert bus.run(second).state.current == "SUCCESS"
    listener = bus.wait_for(lambda: next((e for e in list(bus.executions.values())
                                          if e.flow_id == "both-done" and e.finished), None),
                            what="the listener started", timeout=60)
    assert listener.state.current == "SUCCESS"


def _window_written(stack: LocalStack) -> bool:
    from confluent_kafka import Consumer, TopicPartition

    from ostinato.wire.codec import default_codec

    settings = stack.settings()
    consumer = Consumer(settings.consumer(None))
    consumer.assign([TopicPartition(settings.topic("flow-trigger-state"), 0, 0)])
    try:
        for message in consumer.consume(100, 0.5):
            if message.error() is None and message.value():
                _, record = default_codec().decode(message.value(), expected="PreconditionWindow")
                if record["windowJson"] and "flows[0]" in record["windowJson"]:
                    return True
        return False
    finally:
        consumer.close()


def test_two_scheduler_replicas_share_one_window(fresh_stack: LocalStack, fresh_bus: ServiceRunner) -> None:
    bus = fresh_bus
    first = bus.deploy(UPSTREAM.format(flow_id="first"))
    second = bus.deploy(UPSTREAM.format(flow_id="second"))
    bus.deploy(LISTENER)
    fresh_stack.spawn("scheduler", instance="a")
    fresh_stack.spawn("scheduler", instance="b")
    # upstream executions land on different partitions, read by different replicas
    for _ in range(3):
        assert bus.run(first).state.current == "SUCCESS"
    assert bus.run(second).state.current == "SUCCESS"
    listener = bus.wait_for(lambda: [e for e in list(bus.executions.values())
                                     if e.flow_id == "both-done" and e.finished],
                            what="the listener started", timeout=60)
    assert [e.state.current for e in listener] == ["SUCCESS"]
