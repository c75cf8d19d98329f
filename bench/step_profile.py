"""py-spy samples of the executor and the worker, folded into the stages of one step.

`start` runs `py-spy record --idle --threads --format raw` on each service process (idle
stacks included, so the figures are wall time, not only CPU), `stop` ends it (SIGINT: py-spy
then writes its file), `report` prints, for each thread that did the service's work, the
share of samples per stage and the milliseconds per step they stand for. A stack's stage is
the first rule (in order) that one of its frames matches.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

RATE = 250  # samples a second

#: (stage, pattern a frame matches): the first rule that matches a stack wins
EXECUTOR_STAGES = [
    ("wait for records (consume)", r"^(\w+\.)*(consume|consume_ready|poll) \(.*(idle|messages|lag)\.py"),
    ("store write (RocksDB)", r"^(\w+\.)*(_write_store|write) \(.*(executor/service|store/executions)\.py"),
    ("confirm produced records (flush)", r"^(\w+\.)*(flush|confirm_all|confirm|_confirm) \("),
    ("commit offsets", r"^(\w+\.)*(commit) \(.*checkpoint\.py"),
    ("decide", r"^(\w+\.)*decide \(.*decider"),
    ("emit: encode, produce", r"^(\w+\.)*emit \(.*emitter\.py"),
    ("load from store", r"^(\w+\.)*load \(.*executor/state\.py"),
    ("decode inbox record", r"^(\w+\.)*(decode|record_to_event) \("),
    ("tracing span", r"tracing"),
    ("evict finished / timers / waits", r"^(\w+\.)*(evict_finished|_fire_due_timers|resume_due|due_timers) \("),
]
WORKER_STAGES = [
    ("wait for tasks (consume)", r"^(\w+\.)*(consume|consume_ready|poll) \(.*(idle|messages|lag)\.py"),
    ("thread pool hand-over", r"^(\w+\.)*(submit|_start) \("),
    ("reap, commit offsets", r"^(\w+\.)*_reap \("),
    ("producer poll", r"^(\w+\.)*poll \(.*producer"),
    ("sleep (backlog full)", r"^(\w+\.)*sleep"),
]
TASK_STAGES = [
    ("idle task thread", r"^(\w+\.)*(_worker|get) \(.*(thread|queue)\.py"),
    ("decode WorkerTask", r"^(\w+\.)*(decode|worker_task_from_record) \("),
    ("confirm final result (flush)", r"^(\w+\.)*(_confirm|confirm|confirm_all) \("),
    ("send RUNNING / result: encode, produce", r"^(\w+\.)*_send_result \("),
    ("run the task (render, Return)", r"^(\w+\.)*_run_with_timeout \("),
    ("live logs", r"^(\w+\.)*(finish|start) \(.*live_logs"),
    ("tracing span", r"tracing"),
]


@dataclass
class Sampler:
    process: subprocess.Popen[bytes]
    output: Path


def start(pids: dict[str, int], directory: Path, *, idle: bool = True) -> dict[str, Sampler]:
    """py-spy on each process; `idle`: sample waiting threads too (wall time, not CPU)."""
    samplers = {}
    for name, pid in pids.items():
        output = directory / f"{name}.pyspy.txt"
        command = [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid),
                   *(["--idle"] if idle else []),
                   "--threads", "--format", "raw", "--rate", str(RATE), "--nonblocking",
                   "--output", str(output)]
        samplers[name] = Sampler(subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                                  stderr=subprocess.DEVNULL), output)
    return samplers


def stop(samplers: dict[str, Sampler]) -> None:
    for sampler in samplers.values():
        sampler.process.send_signal(signal.SIGINT)
    for sampler in samplers.values():
        sampler.process.wait(30)


def stacks(output: Path) -> dict[str, Counter[tuple[str, ...]]]:
    """Thread -> Counter of stacks (innermost frame first)."""
    threads: dict[str, Counter[tuple[str, ...]]] = {}
    for line in output.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        if not frames:
            continue
        thread, *rest = frames.split(";")
        threads.setdefault(thread, Counter())[tuple(reversed(rest))] += int(count)
    return threads


def stage_of(stack: tuple[str, ...], rules: list[tuple[str, str]]) -> str:
    for stage, pattern in rules:
        if any(re.search(pattern, frame) for frame in stack):
            return stage
    return "other: " + (stack[0] if stack else "?")


def report(name: str, sampler: Sampler, steps: int, seconds: float) -> None:
    if not sampler.output.exists():
        print(f"\n{name}: py-spy wrote nothing (is ptrace allowed?)")
        return
    threads = stacks(sampler.output)
    for thread, counted in sorted(threads.items(), key=lambda t: -sum(t[1].values())):
        rules = _rules_for(name, counted)
        if rules is None:
            continue
        total = sum(counted.values())
        by_stage: Counter[str] = Counter()
        for stack, count in counted.items():
            by_stage[stage_of(stack, rules)] += count
        print(f"\n{name}, {thread}: {total} samples over {seconds:.1f} s, {steps} steps")
        for stage, count in by_stage.most_common(12):
            share = count / total  # of the thread's wall time (idle stacks are sampled too)
            print(f"  {stage[:70]:<70} {100 * share:5.1f} %  {share * seconds / steps * 1000:6.2f} ms/step")


def _rules_for(name: str, counted: Counter[tuple[str, ...]]) -> list[tuple[str, str]] | None:
    """The stage rules of a thread that does the service's work, else None."""
    frames = {frame for stack in counted for frame in stack}
    if name.startswith("executor") and any("._run_batch (" in f for f in frames):
        return EXECUTOR_STAGES
    if name.startswith("worker") and any("._execute (" in f for f in frames):
        return TASK_STAGES
    if name.startswith("worker") and any("._fetch (" in f for f in frames):
        return WORKER_STAGES
    return None


def report_busy(name: str, sampler: Sampler, seconds: float, top: int = 12) -> None:
    """Per thread the seconds sampled (CPU seconds when taken without --idle, else wall),
    and for the busiest threads the functions of ostinato (and the library entry each calls
    first) by inclusive share."""
    if not sampler.output.exists():
        print(f"\n{name}: py-spy wrote nothing (is ptrace allowed?)")
        return
    threads = stacks(sampler.output)
    total = sum(sum(c.values()) for c in threads.values())
    print(f"\n{name}: ~{total / RATE:.1f} s sampled over {seconds:.1f} s")
    for thread, counted in sorted(threads.items(), key=lambda t: -sum(t[1].values()))[:3]:
        samples = sum(counted.values())
        if samples < total * 0.05:
            break
        print(f"  {thread}: ~{samples / RATE:.1f} s")
        inclusive: Counter[str] = Counter()
        for stack, count in counted.items():
            for frame in set(_ours(stack)):
                inclusive[frame] += count
        # frames in (nearly) every sample are the thread's loop: they say nothing
        below_loop = [(f, c) for f, c in inclusive.most_common() if c < 0.97 * samples]
        for frame, count in below_loop[:top]:
            print(f"    {100 * count / samples:5.1f} %  {frame[:100]}")


def _ours(stack: tuple[str, ...]) -> list[str]:
    """ostinato's frames of a stack below its loop (the loop itself is 100 %), plus the
    first frame outside ostinato each one calls (a library's entry: fastavro, jinja2 ...)."""
    kept = []
    for inner, frame in zip((None, *stack), stack):
        if "ostinato/" in frame and not re.search(r"\.(run|_run_batch|main|serve|loop|_fetch) \(|<module>", frame):
            kept.append(re.sub(r":\d+\)$", ")", frame))
            if inner is not None and "ostinato/" not in inner:
                kept.append("  -> " + re.sub(r":\d+\)$", ")", inner))
    return kept
