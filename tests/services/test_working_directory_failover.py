"""A worker SIGKILLed in the middle of a WorkingDirectory: the child it was running runs
again on another worker, in the directory the previous child left (restored from the
snapshot in internal storage), and every child keeps exactly one successful attempt."""

from __future__ import annotations

from ostinato.cli.stack import LocalStack
from ostinato.harness import ServiceRunner

from tests.services.test_failures import FAILOVER_TIMEOUT, _task_state, sigkill

# WorkingDirectory's documented example (the two shell tasks), the second one made long
FLOW = """
id: wd-failover
namespace: tests.failures
tasks:
  - id: working_directory
    type: io.kestra.plugin.core.flow.WorkingDirectory
    tasks:
      - id: first
        type: io.kestra.plugin.scripts.shell.Commands
        commands:
        - 'echo "{{ taskrun.id }}" > {{ workingDir }}/stay.txt'
      - id: second
        type: io.kestra.plugin.scripts.shell.Commands
        commands:
        - sleep 4
        - |
          echo '::{"outputs": {"stay":"'$(cat {{ workingDir }}/stay.txt)'"}}::'
"""


def test_a_child_resumes_on_another_worker_from_the_previous_childs_directory(
        bare_stack: LocalStack, bare_bus: ServiceRunner) -> None:
    stack, bus = bare_stack, bare_bus
    stack.spawn("executor")
    worker = stack.spawn("worker", instance="a")
    execution_id = bus.start(bus.deploy(FLOW))
    bus.watcher.wait(lambda: _task_state(bus, execution_id, "second") == "RUNNING",
                     timeout=FAILOVER_TIMEOUT, what="the second child running")
    sigkill(worker)
    stack.spawn("worker", instance="b")
    execution = bus.wait_finished(execution_id, timeout=FAILOVER_TIMEOUT)
    assert execution.state.current == "SUCCESS", execution.error_logs
    first, second = execution.runs_of("first")[0], execution.runs_of("second")[0]
    assert second.outputs["vars"] == {"stay": first.id}
    for run in execution.task_run_list:
        assert len(run.attempts) == 1 and run.state.current == "SUCCESS", run.task_id
