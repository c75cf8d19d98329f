"""Trigger events on the `triggers` topic start executions, once per deduplication key."""

from __future__ import annotations

from datetime import datetime, timezone

from confluent_kafka import Consumer, Producer, TopicPartition

from ostinato.cli.stack import LocalStack
from ostinato.harness import ServiceRunner
from ostinato.wire import records as rec
from ostinato.wire.codec import default_codec

FLOW = """
id: on-event
namespace: tests.triggers
inputs:
  - id: count
    type: INT
tasks:
  - id: double
    type: io.kestra.plugin.core.debug.Return
    format: "{{ inputs.count * 2 }}"
"""


def publish(stack: LocalStack, event: rec.TriggerEvent) -> None:
    settings = stack.settings()
    producer = Producer(settings.producer())
    producer.produce(settings.topic("triggers"), key=event.key.encode(),
                     value=default_codec().encode("TriggerEvent", rec.trigger_event_record(event)))
    producer.flush(10)


def event(**inputs: object) -> rec.TriggerEvent:
    return rec.TriggerEvent(namespace="tests.triggers", flow_id="on-event",
                            at=datetime.now(timezone.utc), inputs=dict(inputs))


def executions_of_flow(bus: ServiceRunner) -> list:
    return [e for e in list(bus.executions.values()) if e.flow_id == "on-event"]


def test_an_event_starts_an_execution_with_its_inputs(stack: LocalStack, bus: ServiceRunner) -> None:
    bus.deploy(FLOW)
    before = len(executions_of_flow(bus))
    publish(stack, event(count="21"))
    execution = bus.wait_for(lambda: next((e for e in executions_of_flow(bus)[before:] if e.finished), None),
                             what="an execution started by the event", timeout=60)
    assert execution.state.current == "SUCCESS"
    assert execution.inputs == {"count": 21}
    assert execution.runs_of("double")[0].outputs == {"value": "42"}
    assert execution.trigger["type"] == "io.ostinato.trigger.TriggerEvent"


def test_a_repeated_deduplication_key_starts_nothing_new(stack: LocalStack, bus: ServiceRunner) -> None:
    bus.deploy(FLOW)
    first = rec.TriggerEvent(namespace="tests.triggers", flow_id="on-event",
                             at=datetime.now(timezone.utc), inputs={"count": 1}, dedup_key="order-77")
    publish(stack, first)
    publish(stack, first)
    marker = event(count="5")  # published after both: once it ran, both duplicates were read
    publish(stack, marker)
    bus.wait_for(lambda: any(e.inputs == {"count": 5} and e.finished for e in executions_of_flow(bus)),
                 what="the marker execution", timeout=60)
    deduplicated = [e for e in executions_of_flow(bus) if e.inputs == {"count": 1}]
    assert len(deduplicated) == 1 and deduplicated[0].state.current == "SUCCESS"


def test_a_bad_input_goes_to_the_dead_letters_naming_the_input(stack: LocalStack, bus: ServiceRunner) -> None:
    bus.deploy(FLOW)
    publish(stack, event(count="not a number"))
    unknown = rec.TriggerEvent(namespace="tests.triggers", flow_id="no-such-flow",
                               at=datetime.now(timezone.utc))
    publish(stack, unknown)
    reasons = bus.wait_for(lambda: _reasons(stack) if len(_reasons(stack)) >= 2 else None,
                           what="two dead letters", timeout=60)
    assert any("Invalid input for `count`" in r for r in reasons), reasons
    assert any("no flow tests.triggers.no-such-flow is deployed" in r for r in reasons), reasons


def _reasons(stack: LocalStack) -> list[str]:
    settings = stack.settings()
    codec = default_codec()
    consumer = Consumer(settings.consumer(None))
    name = settings.topic("dead-letters")
    partitions = consumer.list_topics(name, timeout=10).topics[name].partitions
    consumer.assign([TopicPartition(name, p, 0) for p in partitions])
    reasons, eof = [], set()
    try:
        while len(eof) < len(partitions):
            for message in consumer.consume(100, 0.2):
                if message.error() is not None:
                    eof.add(message.partition())
                    continue
                letter = rec.dead_letter_from_record(codec.decode(message.value())[1])
                if letter.topic == settings.topic("triggers"):
                    reasons.append(letter.reason)
    finally:
        consumer.close()
    return reasons
