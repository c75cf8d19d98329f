"""The metrics of the services, each created in a service's registry only by the service
that updates it, so that a worker's /metrics lists no executor histogram that stays empty.

`ServiceMetrics` makes each metric on first use; `declare_service_metrics` makes at start
the ones a service owns (`OWNED`), so they are exported before their first update.
Exposed names (Prometheus adds `_total` to counters, `_bucket`/`_sum`/`_count` to
histograms):

| metric | service | labels |
|---|---|---|
| `ostinato_events_total` | executor | `type` |
| `ostinato_event_seconds` | executor | |
| `ostinato_batch_seconds` | executor | |
| `ostinato_executions_total` | executor | `namespace`, `flow`, `state` |
| `ostinato_execution_duration_seconds` | executor | `namespace`, `flow`, `state` |
| `ostinato_tasks_total` | worker | `type`, `state` |
| `ostinato_task_seconds` | worker | `type` |
| `ostinato_worker_slots` / `_slots_busy` / `_tasks_waiting` | worker | |
| `ostinato_scheduler_lateness_seconds` | scheduler | `trigger` (`Schedule`, `Flow`) |
| `ostinato_dead_letters_total` | all | `topic` |
| `ostinato_consumer_lag` | executor, worker, scheduler | `group`, `topic`, `partition` |
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from prometheus_client import Counter, Gauge, Histogram

if TYPE_CHECKING:
    from ostinato.management import Management

#: seconds; from 50 µs (one decider step) to 10 s
FAST_BUCKETS: tuple[float, ...] = (
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
    0.5, 1.0, 2.5, 5.0, 10.0,
)
#: seconds; from 1 ms (a `Return` task) to an hour (a long script)
TASK_BUCKETS: tuple[float, ...] = (
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
    900.0, 3600.0,
)
#: seconds; an execution, from a `Return` flow (tens of ms) to a day-long one
EXECUTION_BUCKETS: tuple[float, ...] = (
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0,
    24 * 3600.0,
)
#: seconds a trigger fired after its scheduled moment: a tick is 0.1 s, a backlog minutes
LATENESS_BUCKETS: tuple[float, ...] = (
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0,
)

#: the metrics each service makes at start (every service also has `dead_letters_total`)
OWNED: dict[str, tuple[str, ...]] = {
    "executor": ("events_total", "event_seconds", "batch_seconds", "executions_total",
                 "execution_duration_seconds", "consumer_lag"),
    "worker": ("tasks_total", "task_seconds", "worker_slots", "worker_slots_busy",
               "worker_tasks_waiting", "consumer_lag"),
    "scheduler": ("scheduler_lateness_seconds", "consumer_lag"),
    "api": (),
}


class ServiceMetrics:
    """The services' metrics in one `Management`'s registry, each made when first used."""

    def __init__(self, management: Management) -> None:
        self.management = management

    # executor
    @cached_property
    def events_total(self) -> Counter:
        return self.management.counter(
            "events_total", "Events applied by the executor, by event type.", ("type",))

    @cached_property
    def event_seconds(self) -> Histogram:
        return self.management.histogram(
            "event_seconds", "Seconds per event: the decider plus emitting its commands.",
            buckets=FAST_BUCKETS)

    @cached_property
    def batch_seconds(self) -> Histogram:
        return self.management.histogram(
            "batch_seconds", "Seconds per consumed batch of the executor, from poll to commit.",
            buckets=FAST_BUCKETS)

    @cached_property
    def executions_total(self) -> Counter:
        return self.management.counter(
            "executions_total", "Executions ended, by namespace, flow and final state.",
            ("namespace", "flow", "state"))

    @cached_property
    def execution_duration_seconds(self) -> Histogram:
        return self.management.histogram(
            "execution_duration_seconds", "Seconds from an execution's creation to its end, "
            "by namespace, flow and final state.", ("namespace", "flow", "state"),
            buckets=EXECUTION_BUCKETS)

    # worker
    @cached_property
    def tasks_total(self) -> Counter:
        return self.management.counter(
            "tasks_total", "Task runs finished by workers, by task type and final state.",
            ("type", "state"))

    @cached_property
    def task_seconds(self) -> Histogram:
        return self.management.histogram(
            "task_seconds", "Seconds a worker spent running one task attempt, by task type.",
            ("type",), buckets=TASK_BUCKETS)

    @cached_property
    def worker_slots(self) -> Gauge:
        return self.management.gauge("worker_slots", "Task runs this worker runs at once, at most.")

    @cached_property
    def worker_slots_busy(self) -> Gauge:
        return self.management.gauge("worker_slots_busy", "Task runs this worker is running now.")

    @cached_property
    def worker_tasks_waiting(self) -> Gauge:
        return self.management.gauge(
            "worker_tasks_waiting", "Tasks this worker has received but not started (no free slot).")

    # scheduler
    @cached_property
    def scheduler_lateness_seconds(self) -> Histogram:
        return self.management.histogram(
            "scheduler_lateness_seconds", "Seconds between a trigger's scheduled moment and "
            "the scheduler requesting its execution, by trigger type.", ("trigger",),
            buckets=LATENESS_BUCKETS)

    # every service
    @cached_property
    def dead_letters_total(self) -> Counter:
        return self.management.counter(
            "dead_letters_total", "Records sent to the dead-letter topic, by source topic.",
            ("topic",))

    @cached_property
    def consumer_lag(self) -> Gauge:
        return self.management.gauge(
            "consumer_lag", "Records between the group's committed offset and the end of each "
            "partition assigned to this process.", ("group", "topic", "partition"))

    # helpers
    def execution_ended(self, namespace: str, flow: str, state: str,
                        start: str | None, end: str | None) -> None:
        """Count an ended execution; its duration from the ISO `start` and `end` dates."""
        labels = {"namespace": namespace, "flow": flow, "state": state}
        self.executions_total.labels(**labels).inc()
        seconds = _seconds_between(start, end)
        if seconds is not None:
            self.execution_duration_seconds.labels(**labels).observe(seconds)


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    try:
        began = datetime.fromisoformat(start.replace("Z", "+00:00"))
        ended = datetime.fromisoformat(end.replace("Z", "+00:00"))
    except ValueError:
        return None
    return max((ended - began).total_seconds(), 0.0)


def declare_service_metrics(metrics: ServiceMetrics, service: str) -> None:
    """Make the metrics `service` owns (and `dead_letters_total`) now, so that they are
    exported before their first update. An unknown service only gets the dead letters."""
    for name in (*OWNED.get(service, ()), "dead_letters_total"):
        getattr(metrics, name)

