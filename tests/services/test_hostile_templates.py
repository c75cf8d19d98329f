"""Invariant 8 through the real services: a template that would spin for ever fails its
task with the limit in the message, the services stay healthy, and the next flow runs.

The executor (which compiles every template to find the variables it uses, and where
Jinja used to fold `{} | jq(...)` at compile time) and the worker (which renders the
Return task) both run here, on the embedded broker."""

from __future__ import annotations

import time

from ostinato.cli.stack import LocalStack
from ostinato.harness import ServiceRunner
from tests.services.test_robust_readers import health

SPIN = """
id: spin
namespace: tests.hostile
tasks:
  - id: t1
    type: io.kestra.plugin.core.debug.Return
    format: "{{ {} | jq('until(false; .)') }}"
"""

LOOPS = """
id: loops
namespace: tests.hostile
tasks:
  - id: t1
    type: io.kestra.plugin.core.debug.Return
    timeout: PT5S
    format: "{% for i in range(1, 100000) %}{% for j in range(1, 100000) %}{% endfor %}{% endfor %}"
"""

PLAIN = """
id: plain
namespace: tests.hostile
tasks:
  - id: hello
    type: io.kestra.plugin.core.debug.Return
    format: "{{ 'hello' | upper }}"
"""


def error_lines(bus: ServiceRunner, execution_id: str) -> list[str]:
    return bus.wait_for(
        lambda: [line.message for line in bus.logs_of(execution_id) if line.level == "ERROR"],
        what="the error line of the task run", timeout=30,
    )


def test_spinning_templates_fail_their_task_and_the_services_carry_on(
        fresh_stack: LocalStack, fresh_bus: ServiceRunner) -> None:
    spin = fresh_bus.run(fresh_bus.deploy(SPIN), timeout=60)
    assert spin.state.current == "FAILED"
    assert any("exceeded the jq time limit of 1 s (OSTINATO_JQ_TIMEOUT_SECONDS)" in message
               for message in error_lines(fresh_bus, spin.id))

    loops = fresh_bus.run(fresh_bus.deploy(LOOPS), timeout=60)
    assert loops.state.current == "FAILED"
    assert any("exceeded the template time limit of 2 s (OSTINATO_RENDER_TIMEOUT_SECONDS)"
               in message for message in error_lines(fresh_bus, loops.id))

    for service in fresh_stack.processes:
        assert service.alive(), service.name
        assert health(service)["status"] == "UP", service.name
    started = time.monotonic()
    plain = fresh_bus.run(fresh_bus.deploy(PLAIN), timeout=30)
    assert plain.state.current == "SUCCESS"
    assert plain.runs_of("hello")[0].outputs == {"value": "HELLO"}
    assert time.monotonic() - started < 10
