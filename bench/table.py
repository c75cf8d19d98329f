"""Issue 15's table: every row measured through the real services on one embedded stack.

Starts Tansu and the four services (executor, worker, scheduler, API) as separate processes,
warms each flow up with one run, then measures each row (medians of `--runs` runs), and
prints the figure, the target, the public anchor and whether the target is met; then the
bytes written to each topic per task run for the 40-task and the largest execution.
Progress goes to stderr. `--quick` runs everything smaller (a smoke check, < 2 min).

    .venv/bin/python bench/table.py [--runs 3] [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from ostinato.broker import free_port
from ostinato.cli.stack import LocalStack
from ostinato.harness import ServiceRunner
from ostinato.wire.codec import default_codec

import cpu_meter
import step_profile
import table_rows as rows
from api_load import wait_ready
from table_rows import Bench, Row, Sizes
from topic_bytes import TopicMeter, Totals


def start_stack(tmp: Path) -> tuple[LocalStack, Bench]:
    stack = LocalStack(data_dir=tmp, services=("executor", "worker", "scheduler", "api"),
                       api_port=free_port())
    stack.start()
    bus = ServiceRunner(stack.settings(), default_codec(), stack.storage_dir)
    bus.watcher.start()
    api = f"http://127.0.0.1:{stack.api_port}"
    wait_ready(api, timeout=120)
    return stack, Bench(bus, TopicMeter(stack.settings()), api, 0, Sizes())


def measure_all(bench: Bench, stack: LocalStack, profile: Path | None, wall: bool) -> list[Row]:
    table: list[Row] = []
    for name, row in rows.ROWS:
        bench.say(f"row: {name}")
        samplers = {}
        if profile is not None:
            (profile / name).mkdir(parents=True, exist_ok=True)
            samplers = step_profile.start({p.name: p.process.pid for p in stack.processes},
                                          profile / name, idle=wall)
        pids = {"broker": stack.broker.pid or 0, "bench": os.getpid(),
                **{p.name: p.process.pid for p in stack.processes}}
        before = cpu_meter.snapshot(pids)
        began = time.monotonic()
        try:
            table += row(bench)
        except (RuntimeError, TimeoutError, ValueError, AssertionError) as error:
            table.append(Row(name, f"not measured: {type(error).__name__}: {error}", "", "", False))
            bench.say(f"row {name} failed: {error}")
        except KeyboardInterrupt:  # Ctrl-C: print what was measured so far
            table.append(Row(name, "not measured: interrupted", "", "", None))
            return table
        finally:
            step_profile.stop(samplers)
            bench.cpu.append(f"{name}: {cpu_meter.describe(before, cpu_meter.snapshot(pids))}")
        for service, sampler in samplers.items():
            step_profile.report_busy(f"row {name}, {service}", sampler, time.monotonic() - began)
    return table


def print_table(table: list[Row]) -> None:
    widths = [max(len(r.measure) for r in table), max(len(r.figure) for r in table),
              max(len(r.target) for r in table)]
    header = f"{'measure':<{widths[0]}} | {'figure':<{widths[1]}} | {'target':<{widths[2]}} | met | anchor"
    print(header)
    print("-" * len(header))
    for r in table:
        met = {True: "yes", False: "NO", None: "-"}[r.met]
        print(f"{r.measure:<{widths[0]}} | {r.figure:<{widths[1]}} | {r.target:<{widths[2]}} | "
              f"{met:<3} | {r.anchor}")


def print_bytes(written: list[tuple[str, int, Totals]]) -> None:
    for what, task_runs, totals in written:
        print(f"\nbytes written per task run, {what} ({task_runs} task runs): "
              f"{sum(totals.bytes.values()) / task_runs:,.0f} B in "
              f"{sum(totals.records.values()) / task_runs:.1f} records")
        print(f"  {'topic':<20} {'B/task run':>11} {'records/task run':>17} {'total B':>13}")
        for topic in sorted(totals.bytes, key=lambda t: -totals.bytes[t]):
            if totals.records[topic]:
                print(f"  {topic:<20} {totals.bytes[topic] / task_runs:>11,.0f} "
                      f"{totals.records[topic] / task_runs:>17.2f} {totals.bytes[topic]:>13,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="measured runs per row (medians)")
    parser.add_argument("--quick", action="store_true", help="everything smaller: a smoke check")
    parser.add_argument("--only", nargs="*", default=None, metavar="ROW",
                        help=f"only these rows, of: {', '.join(name for name, _ in rows.ROWS)}")
    parser.add_argument("--profile", type=Path, default=None, metavar="DIR",
                        help="sample every service with py-spy during each row (CPU, not wall), "
                             "keep the samples in DIR/<row>/ and print where the CPU went")
    parser.add_argument("--wall", action="store_true",
                        help="with --profile: sample waiting threads too (wall time, not CPU)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, got {args.runs}")
    unknown = set(args.only or ()) - {name for name, _ in rows.ROWS}
    if unknown:
        parser.error(f"unknown row(s) {', '.join(sorted(unknown))}; rows are "
                     f"{', '.join(name for name, _ in rows.ROWS)}")
    if args.only:
        rows.ROWS[:] = [(n, r) for n, r in rows.ROWS if n in args.only]
    with tempfile.TemporaryDirectory(prefix="ostinato-table-") as tmp:
        began = time.monotonic()
        stack, bench = start_stack(Path(tmp))
        bench.runs, bench.sizes = args.runs, Sizes.quick() if args.quick else Sizes()
        bench.begin = began
        bench.say("stack up")
        try:
            table = measure_all(bench, stack, args.profile, args.wall)
        finally:
            bench.meter.close()
            bench.bus.close()
            stack.stop()
    print_table(table)
    print_bytes(bench.written)
    print("\nCPU while each row ran (warm-up included; 'bench' is this process and its HTTP sender):")
    for line in bench.cpu:
        print(f"  {line}")
    print(f"\n{args.runs} measured run(s) per row after one warm-up; "
          f"{'--quick sizes' if args.quick else 'full sizes'}; total {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
