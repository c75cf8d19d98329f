"""Driving `ostinato local` as a user would: start it on a data dir, talk to its API,
stop it (SIGTERM) or crash it (SIGKILL of its whole process tree)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from ostinato.broker import free_port

from tests.cli.test_cli import ROOT


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> Any:
    """The condition's first truthy value, polled until `timeout` s (TimeoutError naming `what`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise TimeoutError(what)


def children_of(pid: int) -> list[int]:
    """Every descendant process of `pid` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        for child, its_parent in parents.items():
            if its_parent == parent:
                found.append(child)
                frontier.append(child)
    return found


def command_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


class Local:
    """One `ostinato local` process on `data_dir`, its output in `data_dir/../local-N.out`."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        runs = len(list(data_dir.parent.glob("local-*.out")))
        self.output_path = data_dir.parent / f"local-{runs}.out"
        self.output = self.output_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ostinato", "local", "--data-dir", str(data_dir),
             "--port", str(self.port)], cwd=ROOT, stdout=self.output, stderr=subprocess.STDOUT)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    def text(self) -> str:
        return self.output_path.read_text(errors="replace")

    def healthy(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_healthy(self, timeout: float = 120) -> None:
        try:
            wait_for(self.healthy, timeout, "/health answering 200")
        except TimeoutError:
            raise AssertionError(f"not healthy; output:\n{self.text()[-4000:]}") from None

    def deploy(self, source: str) -> dict[str, Any]:
        response = httpx.post(f"{self.url}/flows", content=source,
                              headers={"Content-Type": "application/x-yaml"}, timeout=30)
        assert response.status_code in (200, 201), response.text
        return dict(response.json())

    def run(self, namespace: str, flow_id: str, *, wait: bool = True) -> dict[str, Any]:
        response = httpx.post(f"{self.url}/executions/{namespace}/{flow_id}",
                              params={"wait": "true"} if wait else {}, timeout=90)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def execution(self, execution_id: str) -> dict[str, Any] | None:
        response = httpx.get(f"{self.url}/executions/{execution_id}", timeout=10)
        return dict(response.json()) if response.status_code == 200 else None

    def service_pid(self, name: str) -> int:
        for pid in children_of(self.process.pid):
            if f"-m ostinato {name} " in command_of(pid):
                return pid
        raise LookupError(f"no {name} process under ostinato local")

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, as a user's Ctrl-C would; returns the exit status."""
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        self.output.close()
        return code

    def crash(self) -> None:
        """SIGKILL `ostinato local` and every process it started, all at once."""
        tree = [self.process.pid, *children_of(self.process.pid)]
        for pid in tree:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait(10)
        wait_for(lambda: all(gone(pid) for pid in tree),
                 10, "the crashed processes gone")
        self.output.close()


def gone(pid: int) -> bool:
    """True when `pid` has exited (no process, or a zombie not yet reaped)."""
    try:
        return ") Z" in Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
