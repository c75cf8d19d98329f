"""Every dead letter a service writes is counted in its /metrics by the topic the record was
read from (`ostinato_dead_letters_total{topic}`), on the real broker: a malformed record on
a topic a service reads shows up there, whichever way the service dead-letters it (the
worker's own path, the consume loop of a consumer group, a reader outside a group)."""

from __future__ import annotations

import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from ostinato.cli.stack import LocalStack, ServiceProcess
from ostinato.harness import ServiceRunner
from tests.services.test_robust_readers import GARBAGE, management_url, produce
from tests.services.test_robust_readers import bus, stack  # noqa: F401 (fixtures)


def dead_letters_counted(service: ServiceProcess) -> dict[str, float]:
    """The service's `ostinato_dead_letters_total` by topic, read from its /metrics."""
    text = httpx.get(management_url(service) + "/metrics", timeout=5).text
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "ostinato_dead_letters_total":
                counts[sample.labels["topic"]] = sample.value
    return counts


def wait_for_counts(service: ServiceProcess, topics: set[str], timeout: float = 60) -> dict[str, float]:
    """The service's counts once each of `topics` (full names) has one."""
    deadline = time.monotonic() + timeout
    while True:
        counts = dead_letters_counted(service)
        if topics <= set(counts) or time.monotonic() > deadline:
            assert topics <= set(counts), f"{service.name} counted {counts}, not {sorted(topics)}"
            return counts
        time.sleep(0.3)


def test_a_malformed_record_increments_dead_letters_total_on_the_service_that_read_it(
        stack: LocalStack, bus: ServiceRunner) -> None:
    settings = stack.settings()
    for topic in ("worker-tasks", "triggers", "executions", "flows"):
        produce(settings, topic, "broken", GARBAGE)
    worker = stack.spawn("worker")
    scheduler = stack.spawn("scheduler")

    # the worker's own path; the scheduler's trigger events, its consume loop (Flow
    # triggers read `executions`) and a reader outside a group (its flow table)
    worker_counts = wait_for_counts(worker, {settings.topic("worker-tasks")})
    scheduler_counts = wait_for_counts(
        scheduler, {settings.topic(t) for t in ("triggers", "executions", "flows")})

    assert worker_counts == {settings.topic("worker-tasks"): 1}
    assert scheduler_counts[settings.topic("triggers")] == 1
    assert scheduler_counts[settings.topic("executions")] == 1
    assert scheduler_counts[settings.topic("flows")] >= 1  # read whole by each of its readers
