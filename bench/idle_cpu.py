"""CPU of an idle local stack: broker, executor, worker, scheduler and API.

Starts the stack as the tests do (`LocalStack`), waits until the API's /health says UP
(every service announced itself), lets it settle, then samples each process's CPU time
(`/proc/<pid>/stat` utime+stime, children included) over a window and prints the share of
one core per process and in total. DESIGN.md's target: under 5 % of one core in total.

With `--warm N` it first runs N one-task executions (the hot consumers go quiet only once
they have read from each of their partitions: ostinato/kafka/idle.py), so it measures a
stack that has worked and gone idle; without, a fresh one.

    .venv/bin/python bench/idle_cpu.py [--seconds 20] [--settle 5] [--warm 20]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import httpx

from ostinato.cli.stack import LocalStack

SERVICES = ("executor", "worker", "scheduler", "api")
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime+stime of a process and of its reaped children, in seconds (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # after the comm field: state=0, ..., utime=11, stime=12, cutime=13, cstime=14
    return sum(int(value) for value in fields[11:15]) / TICKS


def process_tree(pid: int) -> list[int]:
    """The process and its live descendants (a worker's jq children, for instance)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def wait_until_up(port: int, deadline_s: float = 90.0) -> None:
    """Return once the API's /health reports every service UP; raise after the deadline."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).json().get("status") == "UP":
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"the stack was not UP within {deadline_s} s")


def sample(pids: dict[str, int], seconds: float) -> dict[str, float]:
    """Each process tree's CPU over `seconds`, as a percentage of one core."""
    def totals() -> dict[str, float]:
        return {name: sum(cpu_seconds(p) for p in process_tree(pid)) for name, pid in pids.items()}

    before, started = totals(), time.monotonic()
    time.sleep(seconds)
    after, elapsed = totals(), time.monotonic() - started
    return {name: 100.0 * (after[name] - before[name]) / elapsed for name in pids}


WARM_FLOW = """
id: idle-warm
namespace: bench.idle
tasks:
  - id: hello
    type: io.kestra.plugin.core.debug.Return
    format: hello
"""


def warm_up(stack: LocalStack, executions: int) -> None:
    """Run `executions` one-task executions to the end (their ids spread over the partitions)."""
    from ostinato.harness import ServiceRunner
    from ostinato.wire.codec import default_codec

    runner = ServiceRunner(stack.settings(), default_codec(), stack.storage_dir)
    runner.watcher.start()
    try:
        flow = runner.deploy(WARM_FLOW)
        for _ in range(executions):
            runner.run(flow, timeout=60)
    finally:
        runner.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--settle", type=float, default=5.0)
    parser.add_argument("--warm", type=int, default=0, help="executions to run first")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        port = _free_port()
        with LocalStack(data_dir=Path(data_dir), services=SERVICES, api_port=port) as stack:
            wait_until_up(port)
            if args.warm:
                warm_up(stack, args.warm)
            time.sleep(args.settle)  # restores and group joins done
            pids = {"broker": stack.broker.pid or 0}
            pids.update({service.name: service.process.pid for service in stack.processes})
            usage = sample(pids, args.seconds)
    for name, percent in usage.items():
        print(f"{name:<10} {percent:6.2f} % of one core")
    print(f"{'total':<10} {sum(usage.values()):6.2f} % of one core (target < 5 %)")


def _free_port() -> int:
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


if __name__ == "__main__":
    main()
