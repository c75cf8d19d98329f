"""Throughput and fan-out through the real services on the embedded broker.

1. Executions of a 2-task flow (two `Return` tasks) submitted at a steady rate for a while:
   how many complete per minute, and the p50 / p99 time from request to end.
2. A ForEach over 500 values (`--fan-out`), all at once (`concurrencyLimit: 0`): wall time from the
   execution's first state to its last.

    .venv/bin/python bench/throughput_services.py [--rate 100] [--seconds 20] [--workers 1] [--fan-out 500]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from ostinato.cli.stack import LocalStack
from ostinato.harness import ServiceRunner
from ostinato.wire.codec import default_codec

from shared import instant, percentile, TWO_TASKS

FOREACH = """
id: fan-out
namespace: bench
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    concurrencyLimit: 0
    values: '{values}'
    tasks:
      - id: item
        type: io.kestra.plugin.core.debug.Return
        format: "{{{{ taskrun.value }}}}"
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=100.0, help="executions started per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--fan-out", type=int, default=500, help="values of the ForEach")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stack = LocalStack(data_dir=Path(tmp), services=("executor",), worker_slots=16)
        stack.start()
        for i in range(args.workers):
            stack.spawn("worker", instance=str(i))
        bus = ServiceRunner(stack.settings(), default_codec(), stack.storage_dir)
        bus.watcher.start()
        try:
            flow = bus.deploy(TWO_TASKS)
            bus.run(flow, timeout=120)  # warm-up: group joins
            started: dict[str, float] = {}
            begin = time.monotonic()
            count = int(args.rate * args.seconds)
            for n in range(count):
                target = begin + n / args.rate
                time.sleep(max(0.0, target - time.monotonic()))
                started[bus.start(flow)] = time.monotonic()
            durations = []
            for execution_id in started:
                execution = bus.wait_finished(execution_id, timeout=600)
                assert execution.state.current == "SUCCESS", execution.state.current
                histories = execution.state.histories
                durations.append((instant(histories[-1].date) - instant(histories[0].date)).total_seconds())
            elapsed = max(instant(bus.executions[i].state.histories[-1].date) for i in started) - \
                min(instant(bus.executions[i].state.histories[0].date) for i in started)
            per_minute = count / elapsed.total_seconds() * 60
            print(f"2-task flow: {count} executions offered at {args.rate:.0f}/s with "
                  f"{args.workers} worker(s): {per_minute:,.0f} completed per minute, "
                  f"request-to-end p50 {statistics.median(durations) * 1000:.0f} ms, "
                  f"p99 {percentile(durations, 0.99) * 1000:.0f} ms")

            fan = bus.deploy(FOREACH.format(values=json.dumps([f"v{i}" for i in range(args.fan_out)])))
            walls = []
            for _ in range(3):
                execution = bus.run(fan, timeout=300)
                assert execution.state.current == "SUCCESS" and len(execution.task_run_list) == args.fan_out + 1
                histories = execution.state.histories
                walls.append((instant(histories[-1].date) - instant(histories[0].date)).total_seconds())
            print(f"ForEach over {args.fan_out} values, all at once: wall median {statistics.median(walls):.3f} s "
                  f"(runs: {', '.join(f'{w:.3f}' for w in walls)})")
        finally:
            bus.close()
            stack.stop()


if __name__ == "__main__":
    main()
