"""What each service exports on /metrics, scraped over HTTP from real service processes on
the embedded broker: executions by namespace, flow and final state with their duration
(executor), slots busy and tasks waiting (worker), consumer lag per group, topic and
partition that rises while a worker is behind and returns to 0, scheduler lateness for
Schedule and Flow triggers, dead letters counted by the API, and no service exporting
another's metrics. One stack for the module (a worker with a single slot)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ostinato.broker import free_port
from ostinato.cli.stack import LocalStack, ServiceProcess
from ostinato.harness import ServiceRunner
from ostinato.wire.codec import default_codec
from tests.services.test_robust_readers import GARBAGE, management_url, produce

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

SLEEPY = """
id: sleepy
namespace: tests.metrics
tasks:
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT1.5S
"""
OK = """
id: ok
namespace: tests.metrics
tasks:
  - id: hello
    type: io.kestra.plugin.core.debug.Return
    format: hello
"""
FAILING = """
id: failing
namespace: tests.metrics
tasks:
  - id: boom
    type: io.kestra.plugin.core.execution.Fail
    errorMessage: on purpose
"""
TICKING = """
id: ticking
namespace: tests.metrics
tasks:
  - id: at
    type: io.kestra.plugin.core.debug.Return
    format: "{{ trigger.date }}"
triggers:
  - id: tick
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "* * * * * *"
    withSeconds: true
"""
STOPPED = TICKING[:TICKING.index("triggers:")]
AFTER_OK = """
id: after-ok
namespace: tests.metrics
tasks:
  - id: hello
    type: io.kestra.plugin.core.debug.Return
    format: after
triggers:
  - id: upstream
    type: io.kestra.plugin.core.trigger.Flow
    states: [SUCCESS]
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionFlow
        namespace: tests.metrics
        flowId: ok
"""


class Stack:
    def __init__(self, stack: LocalStack, bus: ServiceRunner, services: dict[str, ServiceProcess],
                 dead_port: int) -> None:
        self.stack, self.bus, self.services, self.dead_port = stack, bus, services, dead_port
        self.urls = {name: management_url(service) for name, service in services.items()}

    def scrape(self, name: str) -> Samples:
        text = httpx.get(self.urls[name] + "/metrics", timeout=5).text
        return {(sample.name, frozenset(sample.labels.items())): sample.value
                for family in text_string_to_metric_families(text) for sample in family.samples}

    def text(self, name: str) -> str:
        return httpx.get(self.urls[name] + "/metrics", timeout=5).text


@pytest.fixture(scope="module")
def metrics_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data_dir: Path = tmp_path_factory.mktemp("metrics")
    stack = LocalStack(data_dir=data_dir, services=(), flow_wait=5.0, api_port=free_port(),
                       worker_slots=1, env={"OSTINATO_LAG_INTERVAL": "0.3"})
    stack.start()
    bus = ServiceRunner(stack.settings(), default_codec(), stack.storage_dir)
    bus.watcher.start()
    # the API's first bootstrap server refuses connections: librdkafka logs it (tests/metrics/test_json_logs.py)
    dead_port = free_port()
    try:
        services = {name: stack.spawn(name) for name in ("executor", "worker", "scheduler")}
        services["api"] = stack.spawn("api", extra=[
            "--bootstrap-servers", f"127.0.0.1:{dead_port},{stack.bootstrap_servers}"])
        yield Stack(stack, bus, services, dead_port)
    finally:
        bus.close()
        stack.stop()


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of `name` over the samples that have `labels` (and any others)."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def eventually(condition: Callable[[], Any], what: str, timeout: float = 60,
               details: list[Any] | None = None) -> Any:
    """`condition()` once true; `details` (filled by the condition) says what it last saw."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {details}"
        time.sleep(0.1)


def test_worker_slots_tasks_waiting_and_lag_rise_while_busy_then_fall_to_zero(
        metrics_stack: Stack) -> None:
    bus, scrape = metrics_stack.bus, metrics_stack.scrape
    flow = bus.deploy(SLEEPY)
    ids = [bus.start(flow) for _ in range(3)]  # one slot: two of them wait behind the first

    lag = dict(group="ostinato.worker", topic="ostinato.worker-tasks")
    eventually(lambda: value(scrape("worker"), "ostinato_worker_slots_busy") == 1, "a busy slot")
    eventually(lambda: (value(scrape("worker"), "ostinato_worker_tasks_waiting") or 0) >= 1,
               "a task waiting for the slot")
    eventually(lambda: total(scrape("worker"), "ostinato_consumer_lag", **lag) >= 2,
               "the worker group's lag while tasks wait")
    assert value(scrape("worker"), "ostinato_worker_slots") == 1

    for execution_id in ids:
        assert bus.wait_finished(execution_id, timeout=60).state.current == "SUCCESS"
    def idle_and_caught_up() -> bool:
        samples = scrape("worker")
        seen[:] = [{k: v for k, v in samples.items() if "lag" in k[0] or "worker_" in k[0]}]
        return (total(samples, "ostinato_consumer_lag", **lag) == 0
                and value(samples, "ostinato_worker_slots_busy") == 0
                and value(samples, "ostinato_worker_tasks_waiting") == 0)

    seen: list[Any] = []
    eventually(idle_and_caught_up, "the worker idle and caught up", details=seen)
    partitions = {dict(ls)["partition"] for (n, ls) in scrape("worker")
                  if n == "ostinato_consumer_lag" and ("group", "ostinato.worker") in ls}
    assert partitions == {"0", "1", "2", "3"}


def test_executions_are_counted_by_namespace_flow_and_final_state_with_their_duration(
        metrics_stack: Stack) -> None:
    bus = metrics_stack.bus
    assert bus.run(bus.deploy(OK), timeout=60).state.current == "SUCCESS"
    assert bus.run(bus.deploy(FAILING), timeout=60).state.current == "FAILED"

    def counted() -> Samples | None:
        samples = metrics_stack.scrape("executor")
        done = value(samples, "ostinato_executions_total", namespace="tests.metrics", flow="failing",
                     state="FAILED")
        return samples if done else None

    samples = eventually(counted, "the FAILED execution counted")
    ok = dict(namespace="tests.metrics", flow="ok", state="SUCCESS")
    failing = dict(namespace="tests.metrics", flow="failing", state="FAILED")
    assert value(samples, "ostinato_executions_total", **ok) == 1
    assert value(samples, "ostinato_executions_total", **failing) == 1
    assert value(samples, "ostinato_execution_duration_seconds_count", **ok) == 1
    assert value(samples, "ostinato_execution_duration_seconds_count", **failing) == 1
    assert (value(samples, "ostinato_execution_duration_seconds_sum", **ok) or 0) > 0
    # the executor's own consumers report their lag by group, topic and partition
    executor_lag = {(dict(ls)["group"], dict(ls)["topic"]) for (n, ls) in samples
                    if n == "ostinato_consumer_lag"}
    assert ("ostinato.executor", "ostinato.executor") in executor_lag
    assert ("ostinato.admission", "ostinato.admissions") in executor_lag


def test_scheduler_lateness_is_observed_for_schedule_and_flow_triggers(metrics_stack: Stack) -> None:
    bus, scrape = metrics_stack.bus, metrics_stack.scrape
    bus.deploy(TICKING)
    try:
        eventually(lambda: (value(scrape("scheduler"), "ostinato_scheduler_lateness_seconds_count",
                                  trigger="Schedule") or 0) >= 2, "two Schedule occurrences", 30)
    finally:
        bus.deploy(STOPPED)  # a revision without the trigger: it stops firing
    bus.deploy(AFTER_OK)
    eventually(lambda: _flow_trigger_fired(metrics_stack), "a Flow trigger's lateness", 60)
    samples = scrape("scheduler")
    assert (value(samples, "ostinato_scheduler_lateness_seconds_sum", trigger="Schedule") or -1) >= 0
    groups = {dict(ls)["group"] for (n, ls) in samples if n == "ostinato_consumer_lag"}
    assert {"ostinato.flow-triggers", "ostinato.trigger-events"} <= groups


def _flow_trigger_fired(metrics_stack: Stack) -> bool:
    """Run `ok` until the scheduler, once it follows `after-ok`, observes a Flow trigger."""
    bus = metrics_stack.bus
    bus.run(bus.flow("tests.metrics", "ok"), timeout=60)
    count = value(metrics_stack.scrape("scheduler"), "ostinato_scheduler_lateness_seconds_count",
                  trigger="Flow")
    return bool(count)


def test_each_service_exports_its_own_metrics_only(metrics_stack: Stack) -> None:
    executor_only = ("ostinato_events_total", "ostinato_event_seconds", "ostinato_batch_seconds",
                     "ostinato_executions_total", "ostinato_execution_duration_seconds")
    worker_only = ("ostinato_tasks_total", "ostinato_task_seconds", "ostinato_worker_slots")
    scheduler_only = ("ostinato_scheduler_lateness_seconds",)
    owned = {"executor": executor_only, "worker": worker_only, "scheduler": scheduler_only,
             "api": ("ostinato_http_requests_total",)}
    for service, mine in owned.items():
        text = metrics_stack.text(service)
        families = {family.name for family in text_string_to_metric_families(text)}
        for name in mine:
            assert name.removesuffix("_total") in families, f"{service} lacks {name}"
        others = {name for other, names in owned.items() if other != service for name in names}
        assert not {n.removesuffix("_total") for n in others} & families, (service, families)
        assert "ostinato_dead_letters" in families, service
    assert "ostinato_consumer_lag" not in {
        f.name for f in text_string_to_metric_families(metrics_stack.text("api"))}


def test_the_api_counts_its_dead_letters_by_topic(metrics_stack: Stack) -> None:
    settings = metrics_stack.stack.settings()
    produce(settings, "executions", "broken-for-metrics", GARBAGE)
    topic = settings.topic("executions")
    eventually(lambda: (value(metrics_stack.scrape("api"), "ostinato_dead_letters_total",
                              topic=topic) or 0) >= 1, "the API's dead letter counted")


def test_every_line_the_services_write_is_json(metrics_stack: Stack) -> None:
    """`--log-format json` (the stack's): librdkafka's lines (the API's first bootstrap
    server refuses connections) and uvicorn's (a request it cannot parse) are JSON too,
    like every other line of every service's output."""
    api = f"http://127.0.0.1:{metrics_stack.stack.api_port}"
    eventually(lambda: _answers(api + "/api/v1/flows/search"), "the API serving")
    with socket.create_connection(("127.0.0.1", metrics_stack.stack.api_port), timeout=5) as raw:
        raw.sendall(b"\x16\x03\x01 not HTTP at all\r\n\r\n")  # uvicorn warns on its own logger
        raw.recv(1024)
    api_log = metrics_stack.services["api"].log_path
    assert api_log is not None

    def loggers() -> set[str]:
        return {json.loads(line).get("logger", "") for line in api_log.read_text().splitlines()}

    eventually(lambda: {"librdkafka", "uvicorn.error"} <= loggers(), "librdkafka and uvicorn lines")
    for service in metrics_stack.services.values():
        assert service.log_path is not None
        for number, line in enumerate(service.log_path.read_text().splitlines(), 1):
            try:
                assert isinstance(json.loads(line), dict)
            except (ValueError, AssertionError):
                pytest.fail(f"{service.name} line {number} is not a JSON object: {line!r}")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code < 500
    except httpx.HTTPError:
        return False
