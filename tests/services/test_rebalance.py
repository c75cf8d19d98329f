"""Restarting one executor of two leaves the other's partitions where they are, and the
restarted one gets its own partitions back and goes on from its local store.

The group uses the cooperative-sticky assignor (ostinato/kafka/config.py): a rebalance moves
only the partitions that must move. On the embedded broker the executors are dynamic members
(Tansu does not implement static membership: README, Kafka settings), so a clean stop leaves
the group and the rejoin is a rebalance; the other executor may be offered the leaver's
partitions meanwhile, but never loses its own.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from confluent_kafka import TopicPartition

from ostinato.cli.stack import LocalStack
from ostinato.execution.states import StateType
from ostinato.harness import ServiceRunner
from ostinato.kafka.client import new_execution_id
from ostinato.kafka.flow_table import FlowTable
from ostinato.kafka.partitioner import key_partition
from ostinato.services.executor.service import ExecutorConfig, ExecutorService
from ostinato.wire.codec import default_codec
from tests.services.test_failures import FAILOVER_TIMEOUT, _succeeded, assert_each_task_ran_once

PARTITIONS = {0, 1, 2, 3}  # LocalStack's topics
NAP = "    type: io.kestra.plugin.core.flow.Sleep\n    duration: PT0.2S"


class RecordingExecutor(ExecutorService):
    """An executor that records every assignment change its consumer reports."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.history: list[tuple[str, set[int]]] = []

    def _on_assign(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        self.history.append(("assigned", {tp.partition for tp in partitions}))
        super()._on_assign(consumer, partitions)

    def _on_revoke(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        self.history.append(("revoked", {tp.partition for tp in partitions}))
        super()._on_revoke(consumer, partitions)


class ExecutorThread:
    """One executor member in a thread, its own data directory and static instance id."""

    def __init__(self, stack: LocalStack, name: str, data_dir: Path) -> None:
        settings = replace(stack.settings(), instance_id=name)
        codec = default_codec()
        self.flows = FlowTable(settings, codec)
        self.service = RecordingExecutor(settings, ExecutorConfig(data_dir=data_dir / name),
                                         codec, self.flows)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.service.run, args=(self._stop,), name=name)

    @property
    def owned(self) -> set[int]:
        return set(self.service.state.owned)

    def start(self) -> ExecutorThread:
        self.flows.start()
        assert self.flows.wait_caught_up(30)
        self._thread.start()
        return self

    def stop(self) -> None:
        """A clean stop: the loop ends, the consumer closes, the store is closed."""
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(30)
            assert not self._thread.is_alive(), "the executor did not stop"
        self.flows.stop()


def split(first: ExecutorThread, second: ExecutorThread) -> bool:
    """Each owns some partitions, none twice, all owned."""
    a, b = first.owned, second.owned
    return bool(a and b and not a & b and a | b == PARTITIONS)


def ids_on(partitions: set[int], count: int) -> list[str]:
    """`count` new execution ids whose records go to `partitions` (keyed by the id)."""
    ids: list[str] = []
    while len(ids) < count:
        execution_id = new_execution_id()
        if key_partition(execution_id, len(PARTITIONS)) in partitions:
            ids.append(execution_id)
    return ids


def test_restarting_one_executor_leaves_the_others_partitions_in_place(
        bare_stack: LocalStack, bare_bus: ServiceRunner, tmp_path: Path) -> None:
    stack, bus = bare_stack, bare_bus
    stack.spawn("worker")
    first = ExecutorThread(stack, "executor-a", tmp_path).start()
    second = ExecutorThread(stack, "executor-b", tmp_path)
    try:
        bus.wait_for(lambda: first.owned == PARTITIONS, what="a owns every partition",
                     timeout=FAILOVER_TIMEOUT)
        second.start()
        bus.wait_for(lambda: split(first, second), what="a and b split the partitions",
                     timeout=FAILOVER_TIMEOUT)
        kept, seconds = first.owned, second.owned
        before = len(first.service.history)

        flow = bus.deploy("id: rebalance\nnamespace: tests.rebalance\ntasks:"
                          + "".join(f"\n  - id: t{i}\n{NAP}" for i in range(6)))
        ids = [bus.start(flow, execution_id=i) for i in ids_on(kept, 3) + ids_on(seconds, 3)]
        bus.wait_for(lambda: all(_succeeded(bus, i) >= 1 for i in ids), what="every execution began",
                     timeout=FAILOVER_TIMEOUT)
        second.stop()
        second = ExecutorThread(stack, "executor-b", tmp_path).start()  # same id, same store
        bus.wait_for(lambda: split(first, second), what="b is back in the group",
                     timeout=FAILOVER_TIMEOUT)

        for execution_id in ids:  # those of b's partitions went on from b's restored store
            execution = bus.wait_finished(execution_id, timeout=FAILOVER_TIMEOUT)
            assert execution.state.current == StateType.SUCCESS
            assert_each_task_ran_once(execution, [f"t{i}" for i in range(6)])
        taken = [partitions & kept for change, partitions in first.service.history[before:]
                 if change == "revoked"]
        assert not any(taken), f"a lost its own partitions: {first.service.history}"
        assert (first.owned, second.owned) == (kept, seconds), "b got its own partitions back"
    finally:
        second.stop()
        first.stop()
