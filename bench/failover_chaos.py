"""SIGKILL the executor at a random moment of a pause, its timer and the task after it.

Each round starts Tansu, an executor and a worker, runs a flow whose `Pause` lasts half a
second or one and whose next task returns a value, and kills the executor a random few
milliseconds after the pause is due: the kill lands somewhere in timer due, TimerFired sent,
resumed, next task dispatched, result applied (some 20 ms in all on the embedded broker).
Then it starts a new executor on the same data directory and waits for the execution to
end. Prints how many rounds were killed mid-way and still ended SUCCESS (with the median
time from the kill to the end), how many had ended before the kill, and how many never
ended (a record lost in the crash: the bug this guards against).

    .venv/bin/python bench/failover_chaos.py [--rounds 20] [--spread 0.04] [--seed N]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import tempfile
import time
from pathlib import Path

from ostinato.cli.stack import LocalStack
from ostinato.harness import ServiceRunner
from ostinato.wire.codec import default_codec

from shared import instant

FLOW = """
id: chaos-pause
namespace: bench
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
    pauseDuration: PT{pause}S
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: resumed
"""


def one_round(data_dir: Path, pause: float, delay: float, timeout: float) -> float | None:
    """Seconds from the kill, `delay` s after the pause is due, to the end (0 when it had
    ended before the kill); None when the execution never ended."""
    stack = LocalStack(data_dir=data_dir, services=(), flow_wait=5.0)
    stack.start()
    bus = ServiceRunner(stack.settings(), default_codec(), stack.storage_dir)
    bus.watcher.start()
    try:
        executor = stack.spawn("executor")
        stack.spawn("worker")
        log = executor.log_path
        assert log is not None
        bus.watcher.wait(lambda: log.exists() and "partitions assigned" in log.read_text(),
                         timeout=60, what="the executor joined")
        execution_id = bus.start(bus.deploy(FLOW.format(pause=pause)))
        paused = bus.wait_state(execution_id, "PAUSED")
        paused_at = next(h.date for h in paused.state.histories if h.state == "PAUSED")
        due = instant(paused_at).timestamp() + pause
        time.sleep(max(0.0, due + delay - time.time()))
        os.killpg(executor.process.pid, signal.SIGKILL)
        executor.process.wait(10)
        killed = time.monotonic()
        before = bus.executions.get(execution_id)
        if before is not None and before.finished:
            return 0.0
        stack.spawn("executor")
        try:
            execution = bus.wait_finished(execution_id, timeout=timeout)
        except TimeoutError:
            return None
        if execution.state.current != "SUCCESS" or execution.runs_of("after")[0].outputs != {"value": "resumed"}:
            raise AssertionError(f"ended {execution.state.current}: {execution.id}")
        return time.monotonic() - killed
    finally:
        bus.close()
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--spread", type=float, default=0.04,
                        help="the kill comes up to this many seconds after the pause's end")
    parser.add_argument("--timeout", type=float, default=40.0, help="seconds to wait for the end")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    recoveries: list[float] = []
    hung: list[str] = []
    for index in range(args.rounds):
        pause = rng.choice([0.5, 1.0])
        delay = rng.uniform(-0.01, args.spread)
        with tempfile.TemporaryDirectory() as tmp:
            took = one_round(Path(tmp), pause, delay, args.timeout)
        verdict = ("never ended" if took is None else "had ended before the kill" if took == 0
                   else f"SUCCESS {took:.1f} s after the kill")
        print(f"round {index + 1:>3}: pause {pause:.1f} s, kill {delay * 1000:+4.0f} ms from its end: {verdict}",
              flush=True)
        if took is None:
            hung.append(f"round {index + 1}")
        else:
            recoveries.append(took)
    restarted = [took for took in recoveries if took > 0]
    median = f"{statistics.median(restarted):.1f} s" if restarted else "-"
    print(f"{args.rounds} rounds: {len(restarted)} killed mid-way and ended SUCCESS (median "
          f"{median} from the kill), {len(recoveries) - len(restarted)} had ended before the "
          f"kill, {len(hung)} never ended")


if __name__ == "__main__":
    main()
