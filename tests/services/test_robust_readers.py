"""No record stops a reader of Kafka (DESIGN.md, invariants 6 and 9), on the real broker:
a malformed record on any topic is dead-lettered (topic, partition, offset, reason) and
skipped; a changelog with one never makes a service fail to start; a cron that never
matches or a flow that no longer parses disables that one trigger, not the scheduler."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Producer

from ostinato.cli.stack import LocalStack, ServiceProcess
from ostinato.harness import ServiceRunner
from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.follower import Follower
from ostinato.wire import records as rec
from ostinato.wire.codec import default_codec

GARBAGE = b"\x00not an ostinato record"


@pytest.fixture
def stack(bare_stack: LocalStack) -> LocalStack:
    return bare_stack


@pytest.fixture
def bus(bare_bus: ServiceRunner) -> ServiceRunner:
    return bare_bus


def produce(settings: KafkaSettings, topic: str, key: str, value: bytes, partition: int = 0) -> None:
    producer = Producer(settings.producer())
    producer.produce(settings.topic(topic), key=key.encode(), value=value, partition=partition)
    assert producer.flush(10) == 0


def dead_letters(settings: KafkaSettings) -> list[rec.DeadLetter]:
    """Every dead letter written so far."""
    follower = Follower.of_topics(settings, ["dead-letters"])
    letters = []
    try:
        deadline = time.monotonic() + 30
        while not follower.reached_end and time.monotonic() < deadline:
            for received in follower.poll():
                _, record = default_codec().decode(received.value, expected="DeadLetter")
                letters.append(rec.dead_letter_from_record(record))
    finally:
        follower.close()
    return letters


def wait_for_letters(settings: KafkaSettings, topics: set[str], timeout: float = 60) -> list[rec.DeadLetter]:
    """The dead letters once there is one from each of `topics` (short names)."""
    deadline = time.monotonic() + timeout
    while True:
        letters = dead_letters(settings)
        seen = {letter.topic[len(settings.topic_prefix):] for letter in letters}
        if topics <= seen or time.monotonic() > deadline:
            assert topics <= seen, f"no dead letter yet from {sorted(topics - seen)}: {letters}"
            return letters
        time.sleep(0.3)


def management_url(service: ServiceProcess, timeout: float = 30) -> str:
    """The management address the service logged at start (its port is chosen freely)."""
    deadline = time.monotonic() + timeout
    assert service.log_path is not None
    while time.monotonic() < deadline:
        for line in service.log_path.read_text().splitlines():
            if '"management up"' in line:
                return f"http://127.0.0.1:{json.loads(line)['port']}"
        time.sleep(0.2)
    raise TimeoutError(f"{service.name} did not log its management port")


def health(service: ServiceProcess) -> dict[str, str]:
    answer: dict[str, str] = httpx.get(management_url(service) + "/health", timeout=5).json()
    return answer


def log_lines(service: ServiceProcess) -> Iterator[dict[str, object]]:
    assert service.log_path is not None
    for line in service.log_path.read_text().splitlines():
        if line.startswith("{"):
            yield json.loads(line)


def wait_for_log(service: ServiceProcess, predicate: object, what: str, timeout: float = 30) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in log_lines(service):
            if predicate(line):  # type: ignore[operator]
                return line
        time.sleep(0.2)
    raise TimeoutError(f"{service.name} never logged {what}")


RETURN_FLOW = """
id: {flow_id}
namespace: tests.robust
tasks:
  - id: hello
    type: io.kestra.plugin.core.debug.Return
    format: hello
"""

EVERY_SECOND = """
id: {flow_id}
namespace: tests.robust
tasks:
  - id: at
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ trigger.date }}}}"
triggers:
  - id: tick
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "* * * * * *"
    withSeconds: true
"""

NEVER = """
id: {flow_id}
namespace: tests.robust
tasks:
  - id: at
    type: io.kestra.plugin.core.debug.Return
    format: never
triggers:
  - id: february-31
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 0 31 2 *"
"""


def fired(bus: ServiceRunner, flow_id: str) -> int:
    return sum(1 for e in list(bus.executions.values()) if e.flow_id == flow_id)


def test_malformed_changelog_records_are_dead_lettered_and_every_service_starts(
        stack: LocalStack, bus: ServiceRunner) -> None:
    settings = stack.settings()
    for topic in ("executor-changelog", "admission-state", "scheduler-state", "flow-trigger-state"):
        produce(settings, topic, "broken", GARBAGE)
    executor = stack.spawn("executor")
    stack.spawn("worker")
    scheduler = stack.spawn("scheduler")

    letters = wait_for_letters(settings, {"executor-changelog", "admission-state",
                                          "scheduler-state", "flow-trigger-state"})

    flow = bus.deploy(RETURN_FLOW.format(flow_id="after-restore"))
    assert bus.run(flow).state.current == "SUCCESS"
    assert executor.alive() and scheduler.alive()
    assert health(executor)["status"] == "UP" and health(scheduler)["status"] == "UP"
    letter = next(l for l in letters if l.topic == settings.topic("executor-changelog"))
    assert (letter.partition, letter.offset, letter.value) == (0, 0, GARBAGE)
    assert letter.reason


def test_malformed_records_on_the_topics_services_read_are_dead_lettered(
        stack: LocalStack, bus: ServiceRunner) -> None:
    settings = stack.settings()
    for topic in ("flows", "admissions", "flow-trigger-hits", "executions", "triggers"):
        produce(settings, topic, "broken", GARBAGE)
    executor = stack.spawn("executor")
    stack.spawn("worker")
    scheduler = stack.spawn("scheduler")

    letters = wait_for_letters(settings, {"flows", "admissions", "flow-trigger-hits",
                                          "executions", "triggers"})

    flow = bus.deploy(RETURN_FLOW.format(flow_id="after-garbage"))
    assert bus.run(flow).state.current == "SUCCESS"
    assert health(executor)["status"] == "UP" and health(scheduler)["status"] == "UP"
    for letter in letters:
        assert letter.offset == 0 and letter.value == GARBAGE and letter.reason, letter


def test_a_cron_that_never_matches_disables_that_trigger_and_the_others_fire(
        stack: LocalStack, bus: ServiceRunner) -> None:
    bus.deploy(NEVER.format(flow_id="never"))
    bus.deploy(EVERY_SECOND.format(flow_id="ticking"))
    scheduler = stack.spawn("scheduler")
    stack.spawn("executor")
    stack.spawn("worker")

    bus.watcher.wait(lambda: fired(bus, "ticking") >= 3, what="3 occurrences of the good flow",
                     timeout=60)

    error = wait_for_log(scheduler, lambda line: line.get("level") == "error"
                         and line.get("trigger") == "february-31", "the disabled trigger")
    assert "never" in str(error.get("flow")) and error.get("reason")
    assert health(scheduler)["status"] == "UP"
    assert fired(bus, "never") == 0


def test_a_flow_whose_source_no_longer_parses_stops_only_that_flow(
        stack: LocalStack, bus: ServiceRunner) -> None:
    settings = stack.settings()
    codec = default_codec()
    broken = rec.FlowRevision(namespace="tests.robust", id="broken", revision=1,
                              source="id: broken\nnamespace: tests.robust\ntasks: [oops",
                              updated=datetime.now(timezone.utc))
    produce(settings, "flows", broken.key, codec.encode("Flow", rec.flow_record(broken)))
    bus.deploy(EVERY_SECOND.format(flow_id="still-ticking"))
    scheduler = stack.spawn("scheduler")
    stack.spawn("executor")
    stack.spawn("worker")

    bus.watcher.wait(lambda: fired(bus, "still-ticking") >= 3, what="3 occurrences", timeout=60)

    wait_for_log(scheduler, lambda line: line.get("level") == "error"
                 and "broken" in str(line.get("flow")), "the flow that does not parse")
    assert health(scheduler)["status"] == "UP"


def test_the_api_view_dead_letters_what_it_cannot_read_and_goes_on(
        stack: LocalStack, bus: ServiceRunner, tmp_path: Path) -> None:
    from ostinato.services.api.view import ExecutionView

    settings = stack.settings()
    produce(settings, "executions", "broken", GARBAGE, partition=1)
    produce(settings, "logs", "broken", GARBAGE, partition=2)
    view = ExecutionView(settings, default_codec(), tmp_path / f"view-{uuid.uuid4().hex[:6]}")
    view.start()
    try:
        assert view.wait_caught_up(30)
        letters = wait_for_letters(settings, {"executions", "logs"})
        assert {(l.topic, l.partition, l.offset) for l in letters} >= {
            (settings.topic("executions"), 1, 0), (settings.topic("logs"), 2, 0)}
        assert view.reading
    finally:
        view.stop()
