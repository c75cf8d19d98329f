"""CPU seconds each process of the stack used while a row ran, and what the rest of the
machine used meanwhile (the machine is shared: other processes' load changes the figures).

Process times come from /proc/<pid>/stat (utime+stime, reaped children included, the live
descendants added: a worker's script processes); the machine's from /proc/stat.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from idle_cpu import cpu_seconds, process_tree

TICKS = os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent not idle (all cores) since boot."""
    fields = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / TICKS


@dataclass
class CpuSnapshot:
    at: float
    processes: dict[str, float]
    machine: float


def snapshot(pids: dict[str, int], *, alone: frozenset[str] = frozenset({"bench"})) -> CpuSnapshot:
    """Each process with its descendants, but those named in `alone` by themselves (and their
    reaped children): the bench's descendants are the stack itself."""
    return CpuSnapshot(time.monotonic(),
                       {name: cpu_seconds(pid) if name in alone else sum(cpu_seconds(p) for p in process_tree(pid))
                        for name, pid in pids.items()},
                       machine_busy_seconds())


def describe(before: CpuSnapshot, after: CpuSnapshot) -> str:
    """One line: wall, each process's CPU seconds, ours in all, the rest of the machine's."""
    wall = after.at - before.at
    used = {n: after.processes[n] - before.processes.get(n, 0.0) for n in after.processes}
    ours = sum(used.values())
    others = max(0.0, after.machine - before.machine - ours)
    cores = os.cpu_count() or 1
    parts = ", ".join(f"{n} {s:.1f}" for n, s in sorted(used.items(), key=lambda i: -i[1]))
    return (f"wall {wall:.1f} s; CPU s: {parts}; ours {ours:.1f} ({100 * ours / wall / cores:.0f} % of "
            f"{cores} cores), other processes {others:.1f} ({100 * others / wall / cores:.0f} %)")
