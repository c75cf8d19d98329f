"""A script task cannot read the worker's credentials through /proc/<worker pid>/environ
(issue 10): a root worker runs scripts as OSTINATO_SCRIPT_USER. Through the real worker."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import uuid

import pytest

from ostinato.cli.stack import LocalStack
from ostinato.execution.model import Execution
from ostinato.harness import ServiceRunner

SCRIPT_USER = "ostinato-script"
SNOOP = """
id: snoop
namespace: tests.isolation
tasks:
  - id: environ
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - id -un
      - (tr '\\0' '\\n' < /proc/$PPID/environ | grep OSTINATO_CANARY) || echo "environ unreadable"
"""


def script_user() -> str:
    """The script user, created when the test runs as root and `useradd` exists."""
    if os.geteuid() != 0:
        pytest.skip("not root: a worker can only run scripts as another user when it is root")
    try:
        pwd.getpwnam(SCRIPT_USER)
    except KeyError:
        if shutil.which("useradd") is None:
            pytest.skip("running as root but `useradd` is missing: cannot create the script user")
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        SCRIPT_USER], check=True)
    return SCRIPT_USER


def snoop(stack: LocalStack, bus: ServiceRunner, env: dict[str, str]) -> tuple[Execution, str]:
    stack.spawn("executor")
    stack.spawn("worker", env=env)
    execution = bus.run(bus.deploy(SNOOP), timeout=60)

    def both_lines() -> str | None:  # logs travel on their own topic: wait for them
        lines = [line.message for line in bus.logs_of(execution.id)]
        found = [m for m in lines if "OSTINATO_CANARY" in m or "environ unreadable" in m]
        return "\n".join(lines) if found else None

    return execution, str(bus.wait_for(both_lines, what="the script's output lines"))


def test_a_script_run_as_the_worker_reads_its_environ(bare_stack: LocalStack, bare_bus: ServiceRunner) -> None:
    """The threat, shown: without a script user, a root worker's scripts read its secrets."""
    if os.geteuid() != 0:
        pytest.skip("not root")
    canary = f"canary-{uuid.uuid4().hex}"
    execution, text = snoop(bare_stack, bare_bus, {"OSTINATO_CANARY_SECRET": canary})
    assert execution.state.current == "SUCCESS", text
    assert canary in text


def test_a_script_run_as_the_script_user_cannot_read_the_workers_environ(
        bare_stack: LocalStack, bare_bus: ServiceRunner) -> None:
    user = script_user()
    canary = f"canary-{uuid.uuid4().hex}"
    execution, text = snoop(bare_stack, bare_bus, {"OSTINATO_CANARY_SECRET": canary,
                                                   "OSTINATO_SCRIPT_USER": user})
    assert execution.state.current == "SUCCESS", text
    assert user in text.splitlines()  # `id -un`
    assert "environ unreadable" in text
    assert canary not in text
