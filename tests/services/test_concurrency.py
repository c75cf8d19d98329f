"""Flow concurrency limits through the services: one owner admits across partitions."""

from __future__ import annotations

from datetime import datetime

from ostinato.harness import ServiceRunner


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_twenty_executions_with_limit_two_never_run_more_than_two_at_once(bus: ServiceRunner) -> None:
    flow = bus.deploy("""
id: limited-two
namespace: tests.concurrency
concurrency:
  limit: 2
  behavior: QUEUE
tasks:
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT0.2S
""")
    ids = [bus.start(flow) for _ in range(20)]
    executions = [bus.wait_finished(i, timeout=120) for i in ids]
    assert [e.state.current for e in executions] == ["SUCCESS"] * 20
    # Each execution holds a slot from RUNNING to its end: never more than 2 overlap.
    spans = []
    for execution in executions:
        running = next(h.date for h in execution.state.histories if h.state == "RUNNING")
        spans.append((_instant(running), _instant(execution.state.histories[-1].date)))
    points = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans],
                    key=lambda p: (p[0], p[1]))
    busy = peak = 0
    for _, step in points:
        busy += step
        peak = max(peak, busy)
    assert peak == 2
    assert sum(1 for e in executions if any(h.state == "QUEUED" for h in e.state.histories)) >= 10
