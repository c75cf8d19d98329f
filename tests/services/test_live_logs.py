"""A running task's log lines reach `logs` while it runs (issue 13, "logs come at the end"):
through the real executor and worker, a follower sees the first line of a script that prints
one line every 0.5 s while the execution is still RUNNING, and the lines arrive spread out."""

from __future__ import annotations

import time

import httpx

from ostinato.cli.stack import LocalStack
from ostinato.harness import ServiceRunner

TICKING = """
id: ticking
namespace: tests.livelogs
tasks:
  - id: tick
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - for i in 0 1 2 3 4 5; do echo "tick $i"; sleep 0.5; done
"""


def test_a_running_scripts_lines_reach_the_logs_topic_as_it_prints_them(bus: ServiceRunner) -> None:
    flow = bus.deploy(TICKING)
    execution_id = bus.start(flow)
    arrivals: dict[str, float] = {}

    def state_at_first_line() -> str | None:
        """The execution's state as the watcher knew it when `tick 0` arrived (the watcher
        reads `executions` and `logs` in one thread, so both are as of the same moment)."""
        messages = [line.message for line in bus.logs_of(execution_id)]
        for message in messages:
            arrivals.setdefault(message, time.monotonic())
        if "tick 0" not in messages:
            return None
        execution = bus.watcher.executions.get(execution_id)
        return str(execution.state.current) if execution is not None else "unknown"

    state = bus.wait_for(state_at_first_line, what="the first line of the script", timeout=30)
    assert state == "RUNNING", f"the first line came when the execution was {state}"
    bus.wait_for(lambda: state_at_first_line() and "tick 5" in arrivals, what="the last line",
                 timeout=30)
    spread = arrivals["tick 5"] - arrivals["tick 0"]
    assert spread > 1.5, f"the six lines arrived within {spread:.2f} s: all at the end"
    assert bus.wait_finished(execution_id).state.current == "SUCCESS"


def test_the_api_follow_stream_shows_a_line_before_the_task_ends(stack: LocalStack,
                                                                 bus: ServiceRunner) -> None:
    api_url = f"http://127.0.0.1:{stack.api_port}"
    flow = bus.deploy(TICKING.replace("id: ticking", "id: ticking-api"))
    execution_id = bus.start(flow)
    deadline = time.monotonic() + 30
    with httpx.stream("GET", f"{api_url}/api/v1/logs/{execution_id}/follow", timeout=30) as response:
        for line in response.iter_lines():
            if "tick 0" in line:
                break
            assert time.monotonic() < deadline, "no line within 30 s"
    execution = bus.watcher.executions.get(execution_id)
    assert execution is not None and str(execution.state.current) == "RUNNING"
