"""Where the time of one task-to-task step goes, through the real services.

Starts Tansu, an executor and a worker (separate processes, as `bench/sequential_services.py`),
runs a flow of 40 `Return` tasks `--runs` times, and splits each gap between a task's end and
the next task's RUNNING into three legs, from dates the services wrote themselves:

  worker out    the task's end (its result's `at`) -> the result record produced
                (the record's CreateTime, set by librdkafka when `produce()` is called)
  executor      -> the next WorkerTask record produced by the executor (CreateTime): the
                hop to the executor, its batch loop, decode, decide, emit
  worker in     -> the next task's RUNNING date: the hop to the worker, its fetch loop,
                the hand-over to a task thread, decode, RUNNING

With `--profile` it also samples the executor and the worker with py-spy (`pip install
py-spy` in .venv) during the measured runs and prints, per process, where their main
threads spent wall time (idle included) by stage, per step.

    .venv/bin/python bench/step_budget.py [--runs 10] [--tasks 40] [--profile]
"""

from __future__ import annotations

import argparse
import os
import random
import uuid
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from ostinato.broker import TopicSpec, ensure_topics

from ostinato.cli.stack import LocalStack
from ostinato.execution.model import Execution
from ostinato.harness import ServiceRunner
from ostinato.kafka.config import HOT_FETCH_WAIT_MS, KafkaSettings
from ostinato.kafka.follower import partitions_of
from ostinato.wire.codec import Codec, default_codec

import cpu_meter
import step_profile
import table_flows as tf
from shared import instant, percentile

#: (topic, task run id, state or None for a WorkerTask) -> record CreateTime
Stamps = dict[tuple[str, str, str | None], datetime]


def record_stamps(settings: KafkaSettings, codec: Codec) -> Stamps:
    """The CreateTime of every WorkerTaskResult on `executor` and WorkerTask on `worker-tasks`."""
    wait: dict[str, Any] = {"fetch.wait.max.ms": 20}
    consumer = Consumer(settings.consumer(None, "follow", **wait))
    consumer.assign([TopicPartition(settings.topic(t), p, 0) for t in ("executor", "worker-tasks")
                     for p in partitions_of(settings, t)])
    stamps: Stamps = {}
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < 1.0:
        message = consumer.poll(0.1)
        if message is None or message.error() is not None:
            continue
        quiet_since = time.monotonic()
        name, record = codec.decode(message.value())
        at = datetime.fromtimestamp(message.timestamp()[1] / 1000, timezone.utc)
        if name == "WorkerTaskResult":
            stamps[("executor", record["taskRunId"], record["state"])] = at
        elif name == "WorkerTask":
            stamps[("worker-tasks", record["taskRunId"], None)] = at
    consumer.close()
    return stamps


def legs(executions: list[Execution], stamps: Stamps) -> dict[str, list[float]]:
    """Per step, the three legs in ms (see the module doc)."""
    found: dict[str, list[float]] = {"worker out": [], "executor": [], "worker in": [], "gap": []}
    for execution in executions:
        runs = execution.task_run_list
        for before, after in zip(runs, runs[1:]):
            ended = instant(before.attempts[-1].state.histories[-1].date)
            result = stamps[("executor", before.id, before.state.current)]
            task = stamps[("worker-tasks", after.id, None)]
            running = tf.running_at(after)
            found["worker out"].append((result - ended).total_seconds() * 1000)
            found["executor"].append((task - result).total_seconds() * 1000)
            found["worker in"].append((running - task).total_seconds() * 1000)
            found["gap"].append((running - ended).total_seconds() * 1000)
    return found


def print_legs(found: dict[str, list[float]]) -> None:
    print(f"{'leg':<12} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7}   (record CreateTimes have 1 ms resolution)")
    for leg, values in found.items():
        print(f"{leg:<12} {percentile(values, 0.5):>7.1f} {percentile(values, 0.9):>7.1f} "
              f"{percentile(values, 0.99):>7.1f}")


#: (consumer fetch.wait.max.ms, producer linger.ms) tried by the hop probe; the first is the
#: services' own setting on the embedded broker (ostinato/kafka/config.py)
HOP_SETTINGS = [(HOT_FETCH_WAIT_MS, 1), (HOT_FETCH_WAIT_MS, 0), (2, 0), (1, 0)]


def hop_latency(settings: KafkaSettings, fetch_wait_ms: int, linger_ms: int,
                count: int = 200) -> list[float]:
    """One record produced and consumed, `count` times at random phases: the bare broker
    hop in ms, with a "hot" consumer's settings but the fetch wait and linger given."""
    topic = f"bench.hop.{uuid.uuid4().hex[:8]}"
    ensure_topics(settings.bootstrap_servers, [TopicSpec(topic, 1, compact=False)], timeout=30)
    wait: dict[str, Any] = {"fetch.wait.max.ms": fetch_wait_ms}
    producer = Producer(settings.producer(**{"linger.ms": linger_ms}))
    consumer = Consumer(settings.consumer(None, "hot", **wait))
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    hops: list[float] = []
    try:
        for n in range(count + 5):  # the first few pay the connection and the first fetch
            time.sleep(random.uniform(0.0, 0.01))
            sent = time.perf_counter()
            producer.produce(topic, value=str(n).encode())
            producer.poll(0)
            while True:
                message = consumer.poll(1.0)
                if message is not None and message.error() is None:
                    break
            if n >= 5:
                hops.append((time.perf_counter() - sent) * 1000)
    finally:
        producer.flush(5)
        consumer.close()
    return hops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--tasks", type=int, default=40)
    parser.add_argument("--profile", action="store_true", help="sample both services with py-spy")
    parser.add_argument("--kafka-config", action="append", default=[], metavar="KEY=VALUE",
                        help="a librdkafka setting for the services' clients (repeatable), to try one: "
                             "linger.ms=0, fetch.wait.max.ms=2 ...")
    parser.add_argument("--no-hops", action="store_true", help="skip the broker hop probe")
    parser.add_argument("--profile-dir", type=Path, default=None,
                        help="keep py-spy's raw samples here (default: a temporary directory)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ostinato-step-") as tmp:
        env = {"OSTINATO_KAFKA_CONFIG": " ".join(args.kafka_config)} if args.kafka_config else {}
        stack = LocalStack(data_dir=Path(tmp), services=("executor", "worker"), env=env)
        stack.start()
        bus = ServiceRunner(stack.settings(), default_codec(), stack.storage_dir)
        bus.watcher.start()
        try:
            flow = bus.deploy(tf.sequential("step-budget", tf.RETURN_TASK, args.tasks))
            bus.run(flow, timeout=120)  # warm-up
            pids = {p.name: p.process.pid for p in stack.processes}
            samplers = step_profile.start(pids, args.profile_dir or Path(tmp)) if args.profile else {}
            cpu_pids = {"broker": stack.broker.pid or 0, "bench": os.getpid(), **pids}
            before = cpu_meter.snapshot(cpu_pids)
            began = time.monotonic()
            executions = [bus.run(flow, timeout=120) for _ in range(args.runs)]
            seconds = time.monotonic() - began
            after = cpu_meter.snapshot(cpu_pids)
            step_profile.stop(samplers)
            print_legs(legs(executions, record_stamps(stack.settings(), bus.codec)))
            for fetch_wait, linger in [] if args.no_hops else HOP_SETTINGS:
                hops = hop_latency(stack.settings(), fetch_wait, linger)
                print(f"{'broker hop':<12} {percentile(hops, 0.5):>7.1f} {percentile(hops, 0.9):>7.1f} "
                      f"{percentile(hops, 0.99):>7.1f}   (produce -> consume; fetch.wait.max.ms "
                      f"{fetch_wait}, linger.ms {linger})")
            steps = args.runs * args.tasks
            print(f"CPU per step: " + ", ".join(
                f"{name} {(after.processes[name] - before.processes[name]) / steps * 1000:.2f} ms"
                for name in cpu_pids) + f"  ({cpu_meter.describe(before, after)})")
            for name, sampler in samplers.items():
                step_profile.report(name, sampler, steps, seconds)
        finally:
            bus.close()
            stack.stop()


if __name__ == "__main__":
    main()
