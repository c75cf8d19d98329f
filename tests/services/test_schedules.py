"""Schedule triggers through the scheduler: every second, no gap, no duplicate — across a
SIGKILL and restart of the scheduler, and with two replicas at once."""

from __future__ import annotations

import os
import signal
from datetime import datetime, timedelta

import pytest

from ostinato.cli.stack import LocalStack, ServiceProcess
from ostinato.execution.model import Execution
from ostinato.harness import ServiceRunner

EVERY_SECOND = """
id: {flow_id}
namespace: tests.schedules
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


@pytest.fixture
def stack(fresh_stack: LocalStack) -> LocalStack:
    return fresh_stack


@pytest.fixture
def bus(fresh_bus: ServiceRunner) -> ServiceRunner:
    return fresh_bus


def fired(bus: ServiceRunner, flow_id: str) -> list[Execution]:
    """Every execution the trigger started (finished or not)."""
    return [e for e in list(bus.executions.values())
            if e.flow_id == flow_id and (e.trigger or {}).get("id") == "tick"]


def settled(bus: ServiceRunner, flow_id: str, at_least: int) -> list[Execution]:
    """Wait for `at_least` occurrences, then for every one started so far to finish."""
    bus.wait_for(lambda: len(fired(bus, flow_id)) >= at_least, what=f"{at_least} occurrences",
                 timeout=60)
    snapshot = {e.id for e in fired(bus, flow_id)}
    bus.wait_for(lambda: all(bus.executions[i].finished for i in snapshot), what="all finished",
                 timeout=60)
    return [bus.executions[i] for i in snapshot]


def seconds(executions: list[Execution]) -> list[datetime]:
    return sorted(datetime.fromisoformat(e.trigger["variables"]["date"].replace("Z", "+00:00"))
                  for e in executions)


def assert_every_second_once(moments: list[datetime]) -> None:
    assert len(moments) == len(set(moments)), "an occurrence ran twice"
    gaps = [b - a for a, b in zip(moments, moments[1:]) if b - a != timedelta(seconds=1)]
    assert gaps == [], f"missed occurrences: {gaps}"


def sigkill(service: ServiceProcess) -> None:
    os.killpg(service.process.pid, signal.SIGKILL)
    service.process.wait(10)


def test_every_second_across_a_sigkilled_and_restarted_scheduler(stack: LocalStack, bus: ServiceRunner) -> None:
    bus.deploy(EVERY_SECOND.format(flow_id="tick-restart"))
    scheduler = stack.spawn("scheduler")
    bus.wait_for(lambda: len(fired(bus, "tick-restart")) >= 4, what="4 occurrences", timeout=60)
    sigkill(scheduler)
    before = len(fired(bus, "tick-restart"))
    stack.spawn("scheduler")  # a new process: state from scheduler-state, missed ones recovered
    executions = settled(bus, "tick-restart", before + 6)
    assert_every_second_once(seconds(executions))
    assert all(e.state.current == "SUCCESS" for e in executions)


def test_two_replicas_fire_each_occurrence_once(stack: LocalStack, bus: ServiceRunner) -> None:
    bus.deploy(EVERY_SECOND.format(flow_id="tick-replicas"))
    stack.spawn("scheduler", instance="a")
    stack.spawn("scheduler", instance="b")
    assert_every_second_once(seconds(settled(bus, "tick-replicas", 6)))


def test_a_backfill_of_100_occurrences_runs_100_executions(stack: LocalStack, bus: ServiceRunner) -> None:
    import subprocess
    import sys

    from tests.cli.test_cli import ROOT

    bus.deploy("""
id: hourly
namespace: tests.schedules
tasks:
  - id: at
    type: io.kestra.plugin.core.debug.Return
    format: "{{ trigger.date }}"
triggers:
  - id: every-hour
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
""")
    args = [sys.executable, "-m", "ostinato", "trigger", "backfill", "tests.schedules", "hourly",
            "every-hour", "--start", "2024-01-01T00:00:00Z", "--end", "2024-01-05T03:00:00Z",
            "--bootstrap-servers", stack.bootstrap_servers]
    result = subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "100 occurrences" in result.stdout
    again = subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert again.returncode == 0, again.stderr

    def backfilled() -> list[Execution] | None:
        found = [e for e in list(bus.executions.values()) if e.flow_id == "hourly" and e.finished]
        return found if len(found) >= 100 else None

    executions = bus.wait_for(backfilled, what="100 backfilled executions", timeout=120)
    dates = sorted(e.trigger["variables"]["date"] for e in executions)
    assert len(dates) == 100 == len(set(dates))  # the second backfill ran nothing again
    assert dates[0] == "2024-01-01T00:00:00.000000Z" and dates[-1] == "2024-01-05T03:00:00.000000Z"
    assert all(e.state.current == "SUCCESS" and e.labels.get("system.backfill") == "true"
               for e in executions)
