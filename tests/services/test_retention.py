"""The executor's retention (`--retention`): a finished execution leaves its store and
changelog, an unfinished one stays, and a restart of a purged one is refused on its logs."""

from __future__ import annotations

import os
import signal
import uuid

from ostinato.cli.stack import LocalStack, ServiceProcess
from ostinato.decider import events as ev
from ostinato.harness import ServiceRunner
from ostinato.kafka.restore import read_partition_to_end

RETENTION = ["--retention", "PT1S", "--retention-sweep", "0.2"]
TIMEOUT = 60.0


def changelog(stack: LocalStack) -> dict[str, bytes | None]:
    """The last value of every key of the executor's changelog (None: a tombstone)."""
    last: dict[str, bytes | None] = {}
    settings = stack.settings()
    for partition in range(settings.partitions):
        read_partition_to_end(settings, "executor-changelog", partition, 0,
                              lambda key, value, _offset: last.__setitem__(key, value))
    return last


def records_of(stack: LocalStack, execution_id: str) -> dict[str, bytes | None]:
    return {key: value for key, value in changelog(stack).items() if key.split("/")[0] == execution_id}


def joined(service: ServiceProcess) -> bool:
    assert service.log_path is not None
    return service.log_path.exists() and "partitions assigned" in service.log_path.read_text()


def test_a_finished_execution_is_purged_an_unfinished_one_is_kept(
        bare_stack: LocalStack, bare_bus: ServiceRunner) -> None:
    stack, bus = bare_stack, bare_bus
    executor = stack.spawn("executor", extra=RETENTION)
    stack.spawn("worker")
    bus.watcher.wait(lambda: joined(executor), what="the executor joined")
    waiting = bus.start(bus.deploy("""id: waits
namespace: tests.retention
tasks:
  - id: hold
    type: io.kestra.plugin.core.flow.Pause
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: resumed
"""))
    bus.wait_state(waiting, "PAUSED")
    done = bus.run(bus.deploy("""id: quick
namespace: tests.retention
tasks:
  - id: one
    type: io.kestra.plugin.core.log.Log
    message: hello
  - id: two
    type: io.kestra.plugin.core.debug.Return
    format: done
"""), timeout=TIMEOUT)
    assert done.state.current == "SUCCESS"

    # every record of the finished execution ends with a tombstone on the changelog
    def purged() -> bool:
        records = records_of(stack, done.id)
        return len(records) >= 3 and all(value is None for value in records.values())

    bus.watcher.wait(purged, timeout=TIMEOUT, what=f"{done.id} purged from the changelog")
    kept = records_of(stack, waiting)
    assert kept and all(value is not None for value in kept.values()), kept

    # a new executor with an empty store restores without it and refuses to restart it
    os.killpg(executor.process.pid, signal.SIGKILL)
    executor.process.wait(10)
    fresh = stack.spawn("executor", instance="fresh", extra=RETENTION)
    bus.watcher.wait(lambda: joined(fresh), timeout=TIMEOUT, what="the fresh executor joined")
    bus.send(ev.Restart(str(uuid.uuid4()), bus.now, done.id))
    refusals = bus.wait_for(lambda: [line.message for line in bus.logs_of(done.id)
                                     if "Restart refused" in line.message],
                            timeout=TIMEOUT, what="the refusal on the purged execution's logs")
    assert "finished more than PT1S ago and was purged" in refusals[0]

    # the unfinished one was kept: it resumes and ends
    bus.resume(waiting)
    resumed = bus.wait_finished(waiting, timeout=TIMEOUT)
    assert resumed.state.current == "SUCCESS"
    assert resumed.runs_of("after")[0].outputs == {"value": "resumed"}
