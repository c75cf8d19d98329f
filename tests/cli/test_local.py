"""`ostinato local`: the broker and the four services, /health, a run, a clean stop."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from ostinato.broker import free_port

from tests.cli.test_cli import ROOT, ostinato


def _wait(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise TimeoutError(what)


def _health(port: int) -> int:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code
    except httpx.HTTPError:
        return 0


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_local_starts_everything_serves_health_runs_a_flow_and_stops_cleanly(tmp_path: Path) -> None:
    api_port, broker_port = free_port(), free_port()
    local = subprocess.Popen(
        [sys.executable, "-m", "ostinato", "local", "--data-dir", str(tmp_path), "--port", str(api_port),
         "--broker-port", str(broker_port)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait(lambda: _health(api_port) == 200, 90, "/health answering 200")
        body = httpx.get(f"http://127.0.0.1:{api_port}/health").json()
        assert body["status"] == "UP"
        assert set(body["services"]) >= {"executor", "worker", "scheduler", "api"}
        result = ostinato("run", "examples/hello.yaml", "--bootstrap-servers", f"127.0.0.1:{broker_port}",
                          "--session-timeout-ms", "3000", "--json")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["state"]["current"] == "SUCCESS"
    finally:
        local.send_signal(signal.SIGTERM)
        output = local.communicate(timeout=60)[0].decode()
    assert local.returncode == 0, output[-3000:]
    assert "stopped" in output
    assert not _listening(broker_port) and not _listening(api_port)
