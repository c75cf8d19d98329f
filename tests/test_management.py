"""The management port: real HTTP over 127.0.0.1, no mocks."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client import Counter, Gauge, Histogram

from ostinato.management import Management, StandardMetrics, standard_metrics
from ostinato.metrics.service import declare_service_metrics


@pytest.fixture
def management() -> Iterator[Management]:
    m = Management(service="executor", host="127.0.0.1", port=0)
    m.start()
    try:
        yield m
    finally:
        m.stop()


def get(m: Management, path: str) -> httpx.Response:
    return httpx.get(f"http://127.0.0.1:{m.port}{path}", timeout=5)


def test_health_is_up_by_default(management: Management) -> None:
    response = get(management, "/health")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "UP", "service": "executor", "reason": ""}


def test_health_down_after_set_alive_false(management: Management) -> None:
    management.set_alive(False, "main loop died")
    response = get(management, "/health")
    assert response.status_code == 503
    assert response.json() == {"status": "DOWN", "service": "executor", "reason": "main loop died"}
    # not alive means not ready either
    assert get(management, "/ready").status_code == 503
    management.set_alive(True)
    assert get(management, "/health").status_code == 200


def test_ready_toggles(management: Management) -> None:
    response = get(management, "/ready")
    assert response.status_code == 503
    assert response.json() == {"status": "DOWN", "service": "executor", "reason": "starting"}

    management.set_ready(True)
    response = get(management, "/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "UP", "service": "executor", "reason": ""}

    management.set_ready(False, "rebalancing")
    response = get(management, "/ready")
    assert response.status_code == 503
    assert response.json()["reason"] == "rebalancing"
    # readiness never touches liveness
    assert get(management, "/health").status_code == 200


def test_ready_gauge_follows_readiness(management: Management) -> None:
    assert "ostinato_ready 0.0" in get(management, "/metrics").text
    management.set_ready(True)
    assert "ostinato_ready 1.0" in get(management, "/metrics").text


def test_metrics_text_holds_incremented_counter(management: Management) -> None:
    jobs = management.counter("jobs_total", "Jobs done.", ("kind",))
    jobs.labels(kind="a").inc(3)
    response = get(management, "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "# TYPE ostinato_jobs_total counter" in text
    assert 'ostinato_jobs_total{kind="a"} 3.0' in text
    # the default collectors, registered into the instance's registry
    assert "process_cpu_seconds_total" in text
    assert "python_info" in text


def test_standard_metrics(management: Management) -> None:
    metrics = standard_metrics(management)
    assert isinstance(metrics, StandardMetrics)
    assert isinstance(metrics.events_total, Counter)
    assert isinstance(metrics.event_seconds, Histogram)
    assert isinstance(metrics.consumer_lag, Gauge)
    metrics.events_total.labels(type="WorkerTaskResult").inc()
    metrics.event_seconds.observe(0.0003)
    metrics.batch_seconds.observe(0.004)
    metrics.tasks_total.labels(type="io.kestra.plugin.core.debug.Return", state="SUCCESS").inc()
    metrics.task_seconds.labels(type="io.kestra.plugin.core.debug.Return").observe(0.002)
    metrics.execution_ended("company.team", "hello", "SUCCESS",
                            "2026-01-01T00:00:00Z", "2026-01-01T00:00:01.5Z")
    metrics.dead_letters_total.labels(topic="ostinato.executor").inc()
    metrics.consumer_lag.labels(group="ostinato.worker", topic="ostinato.worker-tasks",
                                partition="3").set(42)
    text = get(management, "/metrics").text
    for line in (
        'ostinato_events_total{type="WorkerTaskResult"} 1.0',
        "ostinato_event_seconds_count 1.0",
        "ostinato_batch_seconds_count 1.0",
        'ostinato_tasks_total{state="SUCCESS",type="io.kestra.plugin.core.debug.Return"} 1.0',
        'ostinato_task_seconds_count{type="io.kestra.plugin.core.debug.Return"} 1.0',
        'ostinato_executions_total{flow="hello",namespace="company.team",state="SUCCESS"} 1.0',
        'ostinato_execution_duration_seconds_sum{flow="hello",namespace="company.team",state="SUCCESS"} 1.5',
        'ostinato_dead_letters_total{topic="ostinato.executor"} 1.0',
        'ostinato_consumer_lag{group="ostinato.worker",partition="3",topic="ostinato.worker-tasks"} 42.0',
    ):
        assert line in text, line
    # asking again gives the same metric objects, not a duplicate-registration error
    assert standard_metrics(management).events_total is metrics.events_total


def test_a_service_exports_only_the_metrics_it_owns_or_uses(management: Management) -> None:
    metrics = standard_metrics(management)
    declare_service_metrics(metrics, "worker")
    text = get(management, "/metrics").text
    for name in ("ostinato_worker_slots ", "ostinato_worker_slots_busy ",
                 "ostinato_worker_tasks_waiting ", "# TYPE ostinato_tasks_total counter",
                 "# TYPE ostinato_dead_letters_total counter", "# TYPE ostinato_consumer_lag gauge"):
        assert name in text, name
    for executors in ("ostinato_event_seconds", "ostinato_batch_seconds", "ostinato_events_total",
                      "ostinato_execution_duration_seconds", "ostinato_scheduler_lateness"):
        assert executors not in text, executors


def test_metric_name_clash_is_an_error(management: Management) -> None:
    management.counter("things_total", "Things.")
    with pytest.raises(ValueError):
        management.gauge("things_total", "Things.")
    with pytest.raises(ValueError):
        management.counter("things_total", "Things.", ("other",))


def test_unknown_path_is_404_json(management: Management) -> None:
    response = get(management, "/nope")
    assert response.status_code == 404
    assert response.json()["error"] == "not found"


def test_query_string_and_trailing_slash(management: Management) -> None:
    assert get(management, "/health/").status_code == 200
    assert get(management, "/metrics?name[]=x").status_code == 200


def test_head_request(management: Management) -> None:
    response = httpx.head(f"http://127.0.0.1:{management.port}/health", timeout=5)
    assert response.status_code == 200
    assert response.content == b""


def test_two_instances_at_once() -> None:
    first = Management(service="worker", host="127.0.0.1")
    second = Management(service="scheduler", host="127.0.0.1")
    first.start()
    second.start()
    try:
        assert first.port != second.port
        first.counter("only_first_total", "Only in the first registry.").inc()
        first.set_ready(True)
        assert get(first, "/ready").json()["service"] == "worker"
        assert get(second, "/ready").status_code == 503
        assert get(second, "/health").json()["service"] == "scheduler"
        assert "ostinato_only_first_total 1.0" in get(first, "/metrics").text
        assert "ostinato_only_first" not in get(second, "/metrics").text
    finally:
        first.stop()
        second.stop()


def test_stop_releases_the_port() -> None:
    m = Management(service="api", host="127.0.0.1")
    m.start()
    port = m.port
    assert get(m, "/health").status_code == 200
    m.stop()
    m.stop()  # twice is harmless
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
    # the port can be bound again, by another Management or anything else
    again = Management(service="api", host="127.0.0.1", port=port)
    again.start()
    try:
        assert again.port == port
        assert get(again, "/health").status_code == 200
    finally:
        again.stop()
    with socket.socket() as sock:
        # SO_REUSEADDR as any server sets it: closed connections may linger in TIME_WAIT
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen()


def test_port_taken_raises() -> None:
    with Management(service="a", host="127.0.0.1") as first:
        with pytest.raises(OSError):
            Management(service="b", host="127.0.0.1", port=first.port).start()


def test_port_before_start_raises() -> None:
    with pytest.raises(RuntimeError):
        _ = Management(service="x").port


def test_start_twice_raises(management: Management) -> None:
    with pytest.raises(RuntimeError):
        management.start()


def test_a_background_thread_that_dies_turns_health_down_naming_it(management: Management) -> None:
    from ostinato.management import start_service_thread

    def doomed() -> None:
        raise ValueError("the cron never matches")

    start_service_thread("schedules", doomed, liveness=management).join(timeout=5)
    response = get(management, "/health")
    assert response.status_code == 503
    assert response.json()["status"] == "DOWN"
    assert "schedules" in response.json()["reason"]
    assert "the cron never matches" in response.json()["reason"]


def test_a_thread_that_returns_leaves_health_up(management: Management) -> None:
    from ostinato.management import start_service_thread

    start_service_thread("quiet", lambda: None, liveness=management).join(timeout=5)
    assert get(management, "/health").status_code == 200


def test_threads_report_to_the_process_liveness_by_default(management: Management) -> None:
    from ostinato.management import report_thread_deaths, start_service_thread

    def doomed() -> None:
        raise RuntimeError("boom")

    report_thread_deaths(management)
    try:
        start_service_thread("flow-table", doomed).join(timeout=5)
    finally:
        report_thread_deaths(None)
    assert get(management, "/health").status_code == 503
    assert management.dead_threads == ["flow-table (RuntimeError('boom'))"]
