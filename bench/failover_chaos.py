"""SIGKILL a service at a random moment and count the executions that never end.

`--scenario pause` (the default): each round starts Tansu, an executor and a worker, runs a flow whose `Pause` lasts half a
second or one and whose next task returns a value, and kills the executor a random few
milliseconds after the pause is due: the kill lands somewhere in timer due, TimerFired sent,
resumed, next task dispatched, result applied (some 20 ms in all on the embedded broker).
Then it starts a new executor on the same data directory and waits for the execution to
end. Prints how many rounds were killed mid-way and still ended SUCCESS (with the median
time from the kill to the end), how many had ended before the kill, and how many never
ended (a record lost in the crash: the bug this guards against).

`--scenario burst --victim executor|worker`: each round starts 30 executions of a flow of a
0.2 s Sleep, a ForEach over three values and six Return tasks, kills the victim 0.05–1 s
later, starts a new one, and checks that every execution ends SUCCESS with each task run
once and one attempt each (a killed worker's task runs again, but as the same attempt).

    .venv/bin/python bench/failover_chaos.py [--rounds 20] [--spread 0.04] [--seed N]
    .venv/bin/python bench/failover_chaos.py --scenario burst --victim worker [--rounds 10]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import tempfile
import time
from collections import Counter
from functools import partial
from pathlib import Path

from shared import instant

from ostinato.cli.stack import LocalStack, ServiceProcess
from ostinato.harness import ServiceRunner
from ostinato.wire.codec import default_codec

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


BURST = """
id: chaos-burst
namespace: bench
tasks:
  - id: nap
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT0.2S
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: [1, 2, 3]
    concurrencyLimit: 0
    tasks:
      - id: inner
        type: io.kestra.plugin.core.debug.Return
        format: "{{ taskrun.value }}"
""" + "".join(f"""  - id: t{i}
    type: io.kestra.plugin.core.debug.Return
    format: "{{{{ task.id }}}}"
""" for i in range(6))


def has_joined(log: Path) -> bool:
    return log.exists() and "partitions assigned" in log.read_text()


def start_stack(data_dir: Path) -> tuple[LocalStack, ServiceRunner, dict[str, ServiceProcess]]:
    """A broker, an executor and a worker, both having joined their groups."""
    stack = LocalStack(data_dir=data_dir, services=(), flow_wait=5.0)
    stack.start()
    bus = ServiceRunner(stack.settings(), default_codec(), stack.storage_dir)
    bus.watcher.start()
    services = {name: stack.spawn(name) for name in ("executor", "worker")}
    for service in services.values():
        assert service.log_path is not None
        bus.watcher.wait(partial(has_joined, service.log_path), timeout=60,
                         what=f"the {service.name} joined")
    return stack, bus, services


def kill(service: ServiceProcess) -> None:
    os.killpg(service.process.pid, signal.SIGKILL)
    service.process.wait(10)


def burst_round(data_dir: Path, victim: str, delay: float, timeout: float) -> list[str]:
    """What went wrong with each execution (empty when all ended as they should)."""
    stack, bus, services = start_stack(data_dir)
    try:
        flow = bus.deploy(BURST)
        ids = [bus.start(flow) for _ in range(30)]
        time.sleep(delay)
        kill(services[victim])
        stack.spawn(victim)
        wrong = []
        for execution_id in ids:
            try:
                execution = bus.wait_finished(execution_id, timeout=timeout)
            except TimeoutError:
                wrong.append(f"{execution_id} never ended")
                continue
            twice = [key for key, n in Counter((r.task_id, r.value) for r in execution.task_run_list).items()
                     if n > 1]
            retried = [r.task_id for r in execution.task_run_list if len(r.attempts) > 1]
            if execution.state.current != "SUCCESS" or twice or retried:
                wrong.append(f"{execution_id} {execution.state.current}, twice {twice}, retried {retried}")
        return wrong
    finally:
        bus.close()
        stack.stop()


def one_round(data_dir: Path, pause: float, delay: float, timeout: float) -> float | None:
    """Seconds from the kill, `delay` s after the pause is due, to the end (0 when it had
    ended before the kill); None when the execution never ended."""
    stack, bus, services = start_stack(data_dir)
    executor = services["executor"]
    try:
        execution_id = bus.start(bus.deploy(FLOW.format(pause=pause)))
        paused = bus.wait_state(execution_id, "PAUSED")
        paused_at = next(h.date for h in paused.state.histories if h.state == "PAUSED")
        due = instant(paused_at).timestamp() + pause
        time.sleep(max(0.0, due + delay - time.time()))
        kill(executor)
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


def pause_rounds(args: argparse.Namespace, rng: random.Random) -> None:
    recoveries: list[float] = []
    hung = 0
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
            hung += 1
        else:
            recoveries.append(took)
    restarted = [took for took in recoveries if took > 0]
    median = f"{statistics.median(restarted):.1f} s" if restarted else "-"
    print(f"{args.rounds} rounds: {len(restarted)} killed mid-way and ended SUCCESS (median "
          f"{median} from the kill), {len(recoveries) - len(restarted)} had ended before the "
          f"kill, {hung} never ended")


def burst_rounds(args: argparse.Namespace, rng: random.Random) -> None:
    failed = 0
    for index in range(args.rounds):
        delay = rng.uniform(0.05, 1.0)
        with tempfile.TemporaryDirectory() as tmp:
            wrong = burst_round(Path(tmp), args.victim, delay, args.timeout)
        failed += bool(wrong)
        verdict = "all 30 SUCCESS, each task run once" if not wrong else f"{len(wrong)} wrong: {wrong[:3]}"
        print(f"round {index + 1:>3}: {args.victim} killed {delay:.2f} s after the requests: {verdict}",
              flush=True)
    print(f"{args.rounds} rounds of 30 executions, {args.victim} killed: {args.rounds - failed} "
          f"clean, {failed} with a wrong execution")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=["pause", "burst"], default="pause")
    parser.add_argument("--victim", choices=["executor", "worker"], default="executor",
                        help="the service the burst scenario kills")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--spread", type=float, default=0.04,
                        help="pause: the kill comes up to this many seconds after the pause's end")
    parser.add_argument("--timeout", type=float, default=40.0, help="seconds to wait for the end")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    if args.scenario == "pause":
        pause_rounds(args, rng)
    else:
        burst_rounds(args, rng)


if __name__ == "__main__":
    main()
