"""40 tasks in sequence through the real services on the embedded broker.

Starts Tansu, an executor and a worker as separate processes, then runs a flow of 40
`Return` tasks and one of 40 `python.Script` tasks (`fibo(10)`) several times each, and
prints for each: the wall time from the execution's first state to its last, and the p50
and p99 of the gap between one task's end and the next one's start (both read on the
worker: the end of an attempt, then the next attempt's RUNNING).

    .venv/bin/python bench/sequential_services.py [--runs 5] [--tasks 40]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from ostinato.cli.stack import LocalStack
from ostinato.execution.model import Execution
from ostinato.wire.codec import default_codec

from ostinato.harness import ServiceRunner

from shared import instant, percentile

RETURN_TASK = """
  - id: t{i}
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ task.id }}}}"
"""
SCRIPT_TASK = """
  - id: t{i}
    type: io.kestra.plugin.scripts.python.Script
    script: |
      def fibo(n):
          return n if n < 2 else fibo(n - 1) + fibo(n - 2)
      print('::{{"outputs": {{"fibo": %d}}}}::' % fibo(10))
"""


def flow_source(flow_id: str, task: str, count: int) -> str:
    tasks = "".join(task.format(i=i) for i in range(count))
    return f"id: {flow_id}\nnamespace: bench\ntasks:{tasks}"


def measure(execution: Execution) -> tuple[float, list[float]]:
    """(wall seconds, gaps in ms) of a finished sequential execution."""
    histories = execution.state.histories
    wall = (instant(histories[-1].date) - instant(histories[0].date)).total_seconds()
    gaps = []
    runs = execution.task_run_list
    for before, after in zip(runs, runs[1:]):
        ended = instant(before.attempts[-1].state.histories[-1].date)
        started = next(h.date for h in after.attempts[0].state.histories if h.state == "RUNNING")
        gaps.append((instant(started) - ended).total_seconds() * 1000)
    return wall, gaps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stack = LocalStack(data_dir=Path(tmp), services=("executor", "worker"))
        stack.start()
        bus = ServiceRunner(stack.settings(), default_codec(), stack.storage_dir)
        bus.watcher.start()
        try:
            print(f"{'flow':<22} {'runs':>4} {'wall p50 s':>10} {'wall min s':>10} "
                  f"{'gap p50 ms':>10} {'gap p99 ms':>10}")
            for name, task in (("return", RETURN_TASK), ("python-script", SCRIPT_TASK)):
                flow = bus.deploy(flow_source(f"seq-{name}", task, args.tasks))
                bus.run(flow, timeout=300)  # warm-up: group joins, imports, caches
                walls, gaps = [], []
                for _ in range(args.runs):
                    execution = bus.run(flow, timeout=300)
                    assert execution.state.current == "SUCCESS", execution.state.current
                    wall, run_gaps = measure(execution)
                    walls.append(wall)
                    gaps += run_gaps
                print(f"{args.tasks} x {name:<16} {args.runs:>4} {statistics.median(walls):>10.3f} "
                      f"{min(walls):>10.3f} {percentile(gaps, 0.5):>10.1f} {percentile(gaps, 0.99):>10.1f}")
        finally:
            bus.close()
            stack.stop()


if __name__ == "__main__":
    main()
