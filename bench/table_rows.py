"""The rows of issue 15's table (bench/table.py runs them): each a function of the shared
`Bench` returning its table rows. Figures are medians of `Bench.runs` runs after a warm-up."""

from __future__ import annotations

import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from ostinato.execution.model import Execution
from ostinato.execution.states import StateType
from ostinato.flow.model import Flow
from ostinato.harness import ServiceRunner

import table_flows as tf
from http_rate import offer
from shared import percentile
from topic_bytes import TopicMeter, Totals

#: a run whose task runs have not changed for this long has stalled (the row says so)
STALL_SECONDS = 60.0
WINDMILL = "Hatchet 1.22 s, Windmill 2.09 s, Temporal 2.97 s, Kestra 6.04 s (40 x fibo(10))"
KESTRA_GAP = "Kestra 94 ms between tasks (Windmill's benchmark)"
KESTRA_EE = "Kestra EE on Kafka: 4,000 two-task executions/min, p50 0.64 s (4 vCPU, Kafka apart)"
KESTRA_LARGE = "Kestra's docs: flows over 100 task runs degrade"


@dataclass
class Row:
    measure: str
    figure: str
    target: str
    anchor: str
    met: bool | None  # None: no target, or not measured


@dataclass
class Sizes:
    """The sizes of each row: the issue's by default, smaller with --quick."""

    sequential: int = 40
    fan_out: int = 500
    rate: float = 200.0
    rate_seconds: float = 10.0
    small: int = 100
    large: int = 10_000
    nested: int = 20

    @classmethod
    def quick(cls) -> Sizes:
        return cls(sequential=20, fan_out=100, rate=50.0, rate_seconds=3.0, small=100, large=1000,
                   nested=8)


@dataclass
class Bench:
    """The stack, the bus watching it, the topic meter; what the rows share."""

    bus: ServiceRunner
    meter: TopicMeter
    api: str
    runs: int
    sizes: Sizes
    begin: float = field(default_factory=time.monotonic)
    #: (what, task runs, bytes per topic) for the bytes table
    written: list[tuple[str, int, Totals]] = field(default_factory=list)
    deployed: dict[str, Flow] = field(default_factory=dict)
    #: one line per row: the CPU each process used while it ran
    cpu: list[str] = field(default_factory=list)

    def say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.begin:7.1f} s] {text}", file=sys.stderr, flush=True)

    def flow(self, source: str) -> Flow:
        """`source` deployed (once)."""
        if source not in self.deployed:
            self.deployed[source] = self.bus.deploy(source)
        return self.deployed[source]

    def run(self, source: str, timeout: float = 300.0) -> Execution:
        """Run `source` to its end; RuntimeError naming where it stands when it stalls (no
        task run changed state for STALL_SECONDS) or does not end within `timeout` s."""
        execution_id = self.bus.start(self.flow(source))
        deadline = time.monotonic() + timeout
        progress, moved = -1, time.monotonic()
        while True:
            try:
                return self.bus.wait_finished(execution_id, timeout=min(5.0, max(0.01, deadline - time.monotonic())))
            except TimeoutError:
                pass
            now, seen = time.monotonic(), self.bus.executions.get(execution_id)
            changes = 0 if seen is None else sum(len(r.state.histories) for r in seen.task_run_list)
            if changes != progress:
                progress, moved = changes, now
            if now - moved >= STALL_SECONDS or now >= deadline:
                why = f"no task run changed for {now - moved:.0f} s" if now < deadline else f"not ended in {timeout:.0f} s"
                raise RuntimeError(f"execution {execution_id} {why}: {where(seen)}")

    def measured(self, source: str, what: str, timeout: float = 300.0) -> list[Execution]:
        """One warm-up run, then `runs` measured ones (each must succeed)."""
        self.say(f"{what}: warm-up")
        expect_success(self.run(source, timeout), what)
        done = []
        for n in range(self.runs):
            self.say(f"{what}: run {n + 1}/{self.runs}")
            done.append(expect_success(self.run(source, timeout), what))
        return done

    def metered(self, source: str, what: str, timeout: float) -> Execution:
        """One run whose bytes written per topic are kept for the bytes table."""
        self.flow(source)  # deployed before the meter starts: the flow's record is not counted
        before = self.meter.settle()
        execution = self.run(source, timeout)
        self.written.append((what, len(execution.task_run_list), self.meter.settle().minus(before)))
        return execution


def where(execution: Execution | None) -> str:
    """How many task runs are in each state (or that nothing was seen of the execution)."""
    if execution is None:
        return "the execution was never seen on `executions`"
    counted = Counter(str(r.state.current) for r in execution.task_run_list)
    return f"{execution.state.current}, task runs: " + ", ".join(f"{n} {s}" for s, n in counted.most_common())


def expect_success(execution: Execution, what: str) -> Execution:
    if execution.state.current != StateType.SUCCESS:
        raise RuntimeError(f"{what}: execution {execution.id} ended {execution.state.current}")
    return execution


def median(values: list[float]) -> float:
    return statistics.median(values)


def seconds(value: float) -> str:
    return f"{value:.3f} s"


def sequential_rows(bench: Bench) -> list[Row]:
    """40 Return tasks in sequence: first start to last end, and the gaps between tasks."""
    count = bench.sizes.sequential
    source = tf.sequential(f"seq-return-{count}", tf.RETURN_TASK, count)
    done = bench.measured(source, f"{count} sequential Return")
    bench.say(f"{count} sequential Return: one more run, metering the topics")
    bench.metered(source, f"{count} sequential Return tasks", timeout=300)
    walls = [tf.span_seconds(e.task_run_list) for e in done]
    gaps = [gap for e in done for gap in tf.gaps_ms(e)]
    p50, p99 = percentile(gaps, 0.5), percentile(gaps, 0.99)
    return [
        Row(f"{count} sequential Return tasks, first start to last end", seconds(median(walls)),
            "<= 0.25 s", "", median(walls) <= 0.25 if count == 40 else None),
        Row("gap task end -> next RUNNING, p50 / p99", f"{p50:.1f} / {p99:.1f} ms",
            "<= 5 / <= 10 ms", KESTRA_GAP, p50 <= 5 and p99 <= 10),
    ]


def script_rows(bench: Bench) -> list[Row]:
    """Windmill's benchmark: 40 python.Script tasks computing fibo(10), in sequence."""
    count = bench.sizes.sequential
    source = tf.sequential(f"seq-script-{count}", tf.SCRIPT_TASK, count)
    done = bench.measured(source, f"{count} sequential python.Script")
    walls = [tf.span_seconds(e.task_run_list) for e in done]
    gaps = [gap for e in done for gap in tf.gaps_ms(e)]
    tasks = [tf.task_ms(r) for e in done for r in e.task_run_list]
    return [Row(f"{count} sequential python.Script fibo(10), first start to last end",
                f"{seconds(median(walls))} (task p50 {percentile(tasks, 0.5):.0f} ms, "
                f"gap p50 {percentile(gaps, 0.5):.0f} ms)", "<= 1.0 s",
                WINDMILL, median(walls) <= 1.0 if count == 40 else None)]


def fan_out_rows(bench: Bench) -> list[Row]:
    """ForEach over 500 values, concurrencyLimit 0: first child start to last child end."""
    count = bench.sizes.fan_out
    done = bench.measured(tf.foreach(count), f"ForEach over {count}")
    walls = [tf.span_seconds(tf.children(e)) for e in done]
    return [Row(f"ForEach over {count} values, all at once, first child start to last end",
                seconds(median(walls)), "<= 0.5 s", "", median(walls) <= 0.5 if count == 500 else None)]


#: how long the HTTP row waits, after the last create, for every execution to end
HTTP_DRAIN_SECONDS = 180.0


def ended(bench: Bench, ids: list[str], timeout: float) -> tuple[list[Execution], list[str]]:
    """The executions of `ids` that ended within `timeout` s in all, and the ids of the rest."""
    deadline = time.monotonic() + timeout
    finished, missing = [], []
    for execution_id in ids:
        try:
            finished.append(bench.bus.wait_finished(execution_id, timeout=max(0.01, deadline - time.monotonic())))
        except TimeoutError:
            missing.append(execution_id)
    return finished, missing


def http_rows(bench: Bench) -> list[Row]:
    """The two-task flow created over HTTP at a fixed rate: first to last state."""
    rate, length = bench.sizes.rate, bench.sizes.rate_seconds
    flow = bench.bus.deploy(tf.OUTPUT_THEN_LOG)
    bench.say(f"HTTP at {rate:.0f}/s: warm-up")
    expect_success(bench.bus.run(flow, timeout=120), "output-then-log warm-up")
    p50s, p99s, failed, offered_rates, lateness, missing = [], [], 0, [], 0.0, []
    for n in range(bench.runs):
        bench.say(f"HTTP at {rate:.0f}/s for {length:.0f} s: run {n + 1}/{bench.runs}")
        offered = offer(bench.api, "bench", flow.id, rate, length)
        if offered.errors:
            bench.say(f"HTTP: {len(offered.errors)} create requests failed, the first: {offered.errors[0]}")
            raise RuntimeError(f"{len(offered.errors)} create requests failed, the first: {offered.errors[0]}")
        bench.say(f"HTTP: {len(offered.ids)} created in {offered.seconds:.1f} s (answer p50 "
                  f"{percentile(offered.answers, 0.5):.3f} s, p99 {percentile(offered.answers, 0.99):.3f} s, "
                  f"client late by <= {offered.worst_lateness:.2f} s); waiting for their ends")
        finished, never = ended(bench, offered.ids, HTTP_DRAIN_SECONDS)
        if never:
            bench.say(f"HTTP: {len(never)} executions created (the API answered with their ids) never "
                      f"ended within {HTTP_DRAIN_SECONDS:.0f} s: {', '.join(never[:10])}")
        missing += never
        if not finished:
            raise RuntimeError(f"none of the {len(offered.ids)} executions ended within {HTTP_DRAIN_SECONDS:.0f} s")
        failed += sum(1 for e in finished if e.state.current != StateType.SUCCESS)
        durations = [tf.execution_seconds(e) for e in finished]
        p50s.append(percentile(durations, 0.5))
        p99s.append(percentile(durations, 0.99))
        offered_rates.append(len(offered.ids) / offered.seconds)
        lateness = max(lateness, offered.worst_lateness)
    p50, p99 = median(p50s), median(p99s)
    outcome = "all SUCCESS" if not failed else f"{failed} not SUCCESS"
    if missing:
        outcome += f", {len(missing)} never ended (first {missing[0]})"
    figure = (f"{median(offered_rates):.0f}/s offered: {outcome}, "
              f"p50 {seconds(p50)}, p99 {seconds(p99)} (client late by <= {lateness:.2f} s)")
    return [Row("two-task flow (OutputValues, Log) over HTTP at a fixed rate, first to last state",
                figure, "200/s: all SUCCESS, p50 <= 0.3 s, p99 <= 1 s", KESTRA_EE,
                not failed and not missing and p50 <= 0.3 and p99 <= 1.0 if rate >= 200 else None)]


def large_rows(bench: Bench) -> list[Row]:
    """One execution of 10,000 task runs against 100: SUCCESS, and time per task run."""
    small, large = bench.sizes.small, bench.sizes.large
    done = bench.measured(tf.foreach(small), f"ForEach over {small}")
    per_small = median([tf.execution_seconds(e) / len(e.task_run_list) for e in done])
    bench.say(f"ForEach over {large}: one run, metering the topics")
    execution = bench.metered(tf.foreach(large), f"ForEach over {large} values", timeout=1800)
    per_large = tf.execution_seconds(execution) / len(execution.task_run_list)
    ratio = per_large / per_small
    state = execution.state.current
    return [Row(f"one execution of {len(execution.task_run_list):,} task runs (ForEach over {large:,})",
                f"{state}; {per_large * 1000:.2f} ms per task run vs {per_small * 1000:.2f} at {small} "
                f"(x{ratio:.2f}; 1 run at {large:,})",
                "SUCCESS, <= 1.5x", KESTRA_LARGE, state == StateType.SUCCESS and ratio <= 1.5)]


def nested_rows(bench: Bench) -> list[Row]:
    """Nested ForEach 20 x 20: first child start to last child end."""
    n = bench.sizes.nested
    done = bench.measured(tf.nested(n, n), f"nested ForEach {n} x {n}")
    walls = [tf.span_seconds(tf.children(e)) for e in done]
    per_run = median(walls) / (n * n) * 1000
    return [Row(f"nested ForEach {n} x {n} ({n * n} children), first child start to last end",
                f"{seconds(median(walls))} ({per_run:.2f} ms per child)", "<= 0.3 s", KESTRA_LARGE,
                median(walls) <= 0.3 if n == 20 else None)]


ROWS: list[tuple[str, Callable[[Bench], list[Row]]]] = [
    ("sequential", sequential_rows),
    ("script", script_rows),
    ("fan-out", fan_out_rows),
    ("http", http_rows),
    ("large", large_rows),
    ("nested", nested_rows),
]
