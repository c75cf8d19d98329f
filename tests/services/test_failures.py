"""Processes die, records are bad, outputs are too big: nothing is lost or applied twice.

Each test has its own stack (a broker starts in milliseconds) so that it can kill and start
service processes freely. Waits are on conditions with deadlines; a SIGKILLed member's
partitions move after the session timeout (3 s here) plus a few seconds.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections import Counter
from datetime import datetime

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from ostinato.cli.stack import LocalStack, ServiceProcess
from ostinato.decider import commands as cmd
from ostinato.decider import events as ev
from ostinato.execution.model import Execution
from ostinato.flow.tasks import Task
from ostinato.harness import ServiceRunner, Watcher
from ostinato.wire import records as rec
from ostinato.wire.codec import default_codec

FAILOVER_TIMEOUT = 60.0


@pytest.fixture
def stack(bare_stack: LocalStack) -> LocalStack:
    return bare_stack


@pytest.fixture
def bus(bare_bus: ServiceRunner) -> ServiceRunner:
    return bare_bus


def sigkill(service: ServiceProcess) -> None:
    os.killpg(service.process.pid, signal.SIGKILL)
    service.process.wait(10)


def log_text(service: ServiceProcess) -> str:
    assert service.log_path is not None
    return service.log_path.read_text() if service.log_path.exists() else ""


def assert_each_task_ran_once(execution: Execution, task_ids: list[str]) -> None:
    counts = Counter(run.task_id for run in execution.task_run_list)
    assert counts == Counter(task_ids), counts
    for run in execution.task_run_list:
        assert len(run.attempts) == 1, (run.task_id, [a.state.current for a in run.attempts])
        assert run.state.current == "SUCCESS", (run.task_id, run.state.current)


def sequential_flow(flow_id: str, count: int, task: str) -> str:
    tasks = "".join(f"\n  - id: t{i}\n{task}" for i in range(count))
    return f"id: {flow_id}\nnamespace: tests.failures\ntasks:{tasks}"


RETURN = "    type: io.kestra.plugin.core.debug.Return\n    format: \"{{ task.id }}\""
NAP = "    type: io.kestra.plugin.core.flow.Sleep\n    duration: PT0.3S"


def test_two_executors_share_the_partitions_and_run_each_execution_once(
        stack: LocalStack, bus: ServiceRunner) -> None:
    first = stack.spawn("executor", instance="a")
    stack.spawn("worker")
    bus.watcher.wait(lambda: "partitions assigned" in log_text(first), what="executor a joined")
    second = stack.spawn("executor", instance="b")
    flow = bus.deploy(sequential_flow("shared", 5, RETURN))
    ids = [bus.start(flow) for _ in range(20)]
    for execution_id in ids:
        execution = bus.wait_finished(execution_id, timeout=FAILOVER_TIMEOUT)
        assert execution.state.current == "SUCCESS"
        assert_each_task_ran_once(execution, [f"t{i}" for i in range(5)])
    # both members ended up owning partitions
    bus.watcher.wait(lambda: "partitions assigned" in log_text(second), what="executor b joined")
    more = [bus.start(flow) for _ in range(20)]
    for execution_id in more:
        assert bus.wait_finished(execution_id, timeout=FAILOVER_TIMEOUT).state.current == "SUCCESS"
    assert "partitions assigned" in log_text(first) and "partitions assigned" in log_text(second)


def test_a_sigkilled_executor_is_replaced_and_nothing_is_lost_or_applied_twice(
        stack: LocalStack, bus: ServiceRunner) -> None:
    executor = stack.spawn("executor", instance="a")
    stack.spawn("worker")
    flow = bus.deploy(sequential_flow("survive-executor", 12, NAP))
    execution_id = bus.start(flow)
    bus.watcher.wait(lambda: _succeeded(bus, execution_id) >= 3, timeout=FAILOVER_TIMEOUT,
                     what="three tasks done before the kill")
    sigkill(executor)
    stack.spawn("executor", instance="b")  # an empty store: restores from the changelog
    execution = bus.wait_finished(execution_id, timeout=FAILOVER_TIMEOUT)
    assert execution.state.current == "SUCCESS"
    assert_each_task_ran_once(execution, [f"t{i}" for i in range(12)])


def test_a_foreach_survives_its_executor_with_its_values_restored(
        stack: LocalStack, bus: ServiceRunner) -> None:
    """A ForEach's values are a changelog record of their own (TaskRunValues): an executor
    with an empty store restores them and the remaining iterations run, each once."""
    executor = stack.spawn("executor", instance="a")
    stack.spawn("worker")
    flow = bus.deploy("""
id: survive-foreach
namespace: tests.failures
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    concurrencyLimit: 2
    values: "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]"
    tasks:
      - id: nap
        type: io.kestra.plugin.core.flow.Sleep
        duration: PT0.2S
      - id: echo
        type: io.kestra.plugin.core.debug.Return
        format: "{{ taskrun.value }}"
""")
    execution_id = bus.start(flow)
    bus.watcher.wait(lambda: _succeeded(bus, execution_id) >= 6, timeout=FAILOVER_TIMEOUT,
                     what="a few iterations done before the kill")
    sigkill(executor)
    stack.spawn("executor", instance="b")  # an empty store: restores from the changelog
    execution = bus.wait_finished(execution_id, timeout=FAILOVER_TIMEOUT)
    assert execution.state.current == "SUCCESS"
    echoes = sorted(int(run.outputs["value"]) for run in execution.runs_of("echo") if run.outputs)
    assert echoes == list(range(12)), "every value ran once"
    assert len(execution.runs_of("nap")) == 12
    assert execution.runs_of("each")[0].progress.values is None, "executions does not carry them"


def test_a_sigkilled_worker_mid_task_means_the_task_runs_again_elsewhere(
        stack: LocalStack, bus: ServiceRunner) -> None:
    stack.spawn("executor")
    worker = stack.spawn("worker", instance="a")
    flow = bus.deploy("""
id: survive-worker
namespace: tests.failures
tasks:
  - id: long
    type: io.kestra.plugin.scripts.shell.Commands
    commands: ["sleep 4", "echo done"]
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.long.exitCode }}"
""")
    execution_id = bus.start(flow)
    bus.watcher.wait(lambda: _task_state(bus, execution_id, "long") == "RUNNING",
                     timeout=FAILOVER_TIMEOUT, what="the long task running")
    sigkill(worker)
    replacement = stack.spawn("worker", instance="b")
    execution = bus.wait_finished(execution_id, timeout=FAILOVER_TIMEOUT)
    assert execution.state.current == "SUCCESS"
    assert_each_task_ran_once(execution, ["long", "after"])
    assert execution.runs_of("after")[0].outputs == {"value": "0"}
    assert "task ended" in log_text(replacement)


def test_a_pause_timer_fires_after_the_executor_restarts(stack: LocalStack, bus: ServiceRunner) -> None:
    executor = stack.spawn("executor")
    stack.spawn("worker")
    # started before the executor owns its partitions, the pause would count from the
    # request's time and could be over before the executor is killed
    bus.watcher.wait(lambda: "partitions assigned" in log_text(executor), what="the executor joined")
    flow = bus.deploy("""
id: timer-restart
namespace: tests.failures
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
    pauseDuration: PT8S
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: resumed
""")
    execution_id = bus.start(flow)
    bus.wait_state(execution_id, "PAUSED")
    sigkill(executor)
    killed_at = bus.now
    stack.spawn("executor")  # the same data dir: its store, then the changelog's tail
    execution = bus.wait_finished(execution_id, timeout=FAILOVER_TIMEOUT)
    assert execution.state.current == "SUCCESS"
    assert execution.runs_of("after")[0].outputs == {"value": "resumed"}
    # the timer was pending when the executor died: the restarted one fired it
    resumed = [h.date for h in execution.state.histories if h.state == "RUNNING"][-1]
    assert datetime.fromisoformat(resumed.replace("Z", "+00:00")) > killed_at, (resumed, killed_at)


def test_an_output_past_the_context_limit_fails_its_task_run_with_both_sizes(
        stack: LocalStack, bus: ServiceRunner) -> None:
    stack.spawn("executor")
    stack.spawn("worker")
    big = "io.kestra.plugin.scripts.python.Script\n    script: |\n      print('::{\"outputs\": {\"big\": \"%s\"}}::' % ('x' * 600000))"
    flow = bus.deploy(f"""
id: too-big
namespace: tests.failures
tasks:
  - id: first
    type: {big}
  - id: second
    type: {big}
""")
    execution = bus.run(flow, timeout=FAILOVER_TIMEOUT)
    assert execution.state.current == "FAILED"
    first, second = execution.runs_of("first")[0], execution.runs_of("second")[0]
    assert first.state.current == "SUCCESS"
    assert second.state.current == "FAILED"
    errors = bus.wait_for(lambda: [line.message for line in bus.logs_of(execution.id)
                                   if line.task_run_id == second.id and line.level == "ERROR"],
                          what="the error line of the second task run")
    message = errors[0]
    assert "over the context limit of 1048576 bytes" in message
    assert "internal storage" in message
    sizes = [int(word) for word in message.replace(",", " ").split() if word.isdigit()]
    assert len(sizes) >= 3 and sizes[1] > 1048576, message  # outputs, execution, limit


def test_a_malformed_record_goes_to_the_dead_letters_and_the_executor_goes_on(
        stack: LocalStack, bus: ServiceRunner) -> None:
    stack.spawn("executor")
    stack.spawn("worker")
    settings = stack.settings()
    producer = Producer(settings.producer())
    producer.produce(settings.topic("executor"), key=b"garbage", value=b"\x00not avro at all")
    producer.flush(10)
    flow = bus.deploy(sequential_flow("after-garbage", 2, RETURN))
    assert bus.run(flow, timeout=FAILOVER_TIMEOUT).state.current == "SUCCESS"
    letters = _dead_letters(stack)
    assert [letter.key for letter in letters] == ["garbage"]
    assert letters[0].value == b"\x00not avro at all"
    assert letters[0].topic == settings.topic("executor")
    assert letters[0].reason


def _succeeded(bus: ServiceRunner, execution_id: str) -> int:
    execution = bus.executions.get(execution_id)
    return 0 if execution is None else sum(r.state.current == "SUCCESS" for r in execution.task_run_list)


def _task_state(bus: ServiceRunner, execution_id: str, task_id: str) -> str | None:
    execution = bus.executions.get(execution_id)
    runs = [] if execution is None else execution.runs_of(task_id)
    return runs[0].state.current if runs else None


def _dead_letters(stack: LocalStack) -> list[rec.DeadLetter]:
    settings = stack.settings()
    codec = default_codec()
    consumer = Consumer(settings.consumer(None))
    name = settings.topic("dead-letters")
    partitions = consumer.list_topics(name, timeout=10).topics[name].partitions
    consumer.assign([TopicPartition(name, p, 0) for p in partitions])
    letters: list[rec.DeadLetter] = []
    eof: set[int] = set()
    watcher = Watcher(settings, codec)  # only for its bounded wait helper
    try:
        def read_all() -> bool:
            for message in consumer.consume(100, 0.1):
                if message.error() is not None:
                    eof.add(message.partition() or 0)
                    continue
                value = message.value()
                assert value is not None
                letters.append(rec.dead_letter_from_record(codec.decode(value)[1]))
            return len(eof) == len(partitions)

        watcher.wait(read_all, timeout=30, what="the dead-letter topic read to its end")
    finally:
        consumer.close()
    return letters


def test_a_worker_runs_a_task_attempt_sent_twice_once(stack: LocalStack, bus: ServiceRunner) -> None:
    """An executor killed between sending a task and writing its changelog sends the same
    attempt again when it replays: the worker runs it once; a new attempt still runs."""
    worker = stack.spawn("worker")
    bus.watcher.wait(lambda: "partitions assigned" in log_text(worker), what="the worker joined")
    task = Task.model_validate({"id": "twice", "type": "io.kestra.plugin.core.debug.Return",
                                "format": "once"})
    settings = stack.settings()
    producer = Producer(settings.producer())
    for attempt in (0, 0, 1):
        command = cmd.RunTask("exec-twice", "run-twice", attempt, task, {})
        record = rec.worker_task_record(command, namespace="tests.failures", flow_id="twice",
                                        at=bus.now)
        producer.produce(settings.topic("worker-tasks"), key=b"exec-twice",
                         value=default_codec().encode("WorkerTask", record))
    producer.flush(10)

    def ended() -> list[str]:
        return [line for line in log_text(worker).splitlines()
                if "run-twice" in line and "task ended" in line]

    bus.watcher.wait(lambda: "skipped" in log_text(worker) and len(ended()) >= 2,
                     timeout=FAILOVER_TIMEOUT, what="both attempts ended and the copy skipped")
    assert len(ended()) == 2
    skipped = [line for line in log_text(worker).splitlines() if "skipped" in line]
    assert len(skipped) == 1 and '"attempt": 0' in skipped[0], skipped


def test_a_kill_for_an_unknown_execution_is_refused_on_its_logs_and_the_executor_goes_on(
        stack: LocalStack, bus: ServiceRunner) -> None:
    executor = stack.spawn("executor")
    stack.spawn("worker")
    bus.send(ev.Kill(str(uuid.uuid4()), bus.now, "no-such-execution"))
    refusals = bus.wait_for(lambda: [line.message for line in bus.logs_of("no-such-execution")],
                            timeout=FAILOVER_TIMEOUT, what="the refusal of the kill")
    assert "Kill refused" in refusals[0] and "it never existed" in refusals[0]
    execution = bus.run(bus.deploy(sequential_flow("after-unknown", 2, RETURN)), timeout=FAILOVER_TIMEOUT)
    assert execution.state.current == "SUCCESS"
    assert executor.alive()
