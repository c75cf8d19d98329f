"""A record the producer or broker refuses at delivery fails only its own execution.

The executor runs in this process with its producer given: a real producer whose
`message.max.bytes` (200 kB) is below what the executor itself allows (4 MiB), as a
broker with a smaller limit than the executor's would be. A request whose worker task is
300 kB is then refused at delivery, in a batch with a healthy request: the batch is run
again one event at a time, the big one fails alone and its execution ends FAILED with the
delivery error; the healthy one runs to the end.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Producer

from ostinato.cli.stack import LocalStack
from ostinato.harness import ServiceRunner
from ostinato.kafka.flow_table import FlowTable
from ostinato.wire.codec import default_codec
from ostinato.services.executor.service import ExecutorConfig, ExecutorService
from tests.services.test_failures import FAILOVER_TIMEOUT, _dead_letters, log_text


class ExecutorThread:
    """An executor service in a thread of the test, with a producer of the test's choosing."""

    def __init__(self, stack: LocalStack, data_dir: Path, producer: Producer) -> None:
        settings, codec = stack.settings(), default_codec()
        self.flows = FlowTable(settings, codec)
        self.service = ExecutorService(settings, ExecutorConfig(data_dir=data_dir), codec,
                                       self.flows, producer=producer)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.service.run, args=(self._stop,),
                                        name="executor-under-test")

    def start(self) -> None:
        self.flows.start()
        assert self.flows.wait_caught_up(30)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(30)
        self.flows.stop()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()


@pytest.fixture
def executor(bare_stack: LocalStack, tmp_path: Path) -> Iterator[ExecutorThread]:
    small = Producer(bare_stack.settings().producer(**{"message.max.bytes": 200_000}))
    thread = ExecutorThread(bare_stack, tmp_path / "executor-under-test", small)
    try:
        yield thread
    finally:
        thread.stop()


def test_a_record_refused_at_delivery_fails_its_execution_and_its_batch_mates_run(
        bare_stack: LocalStack, bare_bus: ServiceRunner, executor: ExecutorThread) -> None:
    worker = bare_stack.spawn("worker")
    bare_bus.watcher.wait(lambda: "partitions assigned" in log_text(worker), what="the worker joined")
    big = bare_bus.deploy(
        f"id: refused-at-delivery\nnamespace: tests.poison\nvariables:\n  big: {'x' * 300_000}\n"
        "tasks:\n  - id: echo\n    type: io.kestra.plugin.core.debug.Return\n"
        "    format: \"{{ vars.big | length }}\"\n")
    healthy = bare_bus.deploy("id: batch-mate\nnamespace: tests.poison\ntasks:\n  - id: echo\n"
                              "    type: io.kestra.plugin.core.debug.Return\n    format: fine\n")
    # both requests wait on the topic before the executor starts: it reads them in one batch
    big_id, healthy_id = bare_bus.start(big), bare_bus.start(healthy)
    executor.start()
    failed = bare_bus.wait_finished(big_id, timeout=FAILOVER_TIMEOUT)
    assert failed.state.current == "FAILED"
    errors = bare_bus.wait_for(lambda: [line.message for line in bare_bus.logs_of(big_id)
                                        if line.level == "ERROR"], what="the delivery error")
    assert "DeliveryRefused" in errors[0] and "MSG_SIZE_TOO_LARGE" in errors[0], errors[0]
    fine = bare_bus.wait_finished(healthy_id, timeout=FAILOVER_TIMEOUT)
    assert fine.state.current == "SUCCESS"
    assert fine.runs_of("echo")[0].outputs == {"value": "fine"}
    assert executor.alive
    letters = [letter for letter in _dead_letters(bare_stack) if letter.key == big_id]
    assert len(letters) == 1 and "MSG_SIZE_TOO_LARGE" in letters[0].reason, letters
