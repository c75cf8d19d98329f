"""Decider time per event as an execution grows: 20, 200 and 2,000 task runs.

Runs a ForEach of N values (one Return task each, one value at a time) through the
in-process driver while recording every event, then replays the log through `decide`
alone and times each call. Prints the median time of the last 100 final worker results
(each ends one task run and starts the next: the steady-state event, applied when the
execution already holds about N task runs) and the ratio to the smallest size.

    .venv/bin/python bench/decider_per_event.py
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from ostinato.decider import decide
from ostinato.decider import events as ev
from ostinato.inprocess import InProcessRunner

FLOW = """
id: grow
namespace: bench
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: '{values}'
    tasks:
      - id: step
        type: io.kestra.plugin.core.debug.Return
        format: "{{{{ taskrun.value }}}}"
"""


def per_event_seconds(size: int, repeats: int = 3) -> float:
    # size task runs = 1 ForEach + (size - 1) children
    values = json.dumps([f"v{i}" for i in range(size - 1)])
    recorded: list[ev.Event] = []
    with tempfile.TemporaryDirectory() as tmp:
        runner = InProcessRunner(storage_dir=Path(tmp), on_event=recorded.append)
        flow = runner.deploy(FLOW.format(values=values))
        execution = runner.run(flow)
        assert execution.state.current == "SUCCESS", execution.state.current
        assert len(execution.task_run_list) == size
    best: list[float] = []
    for _ in range(repeats):
        timings: list[float] = []
        replayed = None
        for event in recorded:
            start = time.perf_counter()
            replayed = decide(flow, replayed, event).execution
            elapsed = time.perf_counter() - start
            if isinstance(event, ev.WorkerTaskResult) and event.state != "RUNNING":
                timings.append(elapsed)
        best.append(statistics.median(timings[-100:]))
    return min(best)


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [20, 200, 2000]
    base = None
    print(f"{'task runs':>10} {'median µs/event':>16} {'ratio':>6}")
    for size in sizes:
        seconds = per_event_seconds(size)
        base = base or seconds
        print(f"{size:>10} {seconds * 1e6:>16.1f} {seconds / base:>6.2f}")


if __name__ == "__main__":
    main()
