"""`ostinato run` on its own embedded stack ends with a clear error when the broker dies
(issue 15), instead of waiting for ever on an execution that cannot finish."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FLOW = """id: long-wait
namespace: tests.run
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Sleep
    duration: PT60S
"""


def broker_of(parent: int) -> int | None:
    """The pid of the Tansu process started by `parent`, if any."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"tansu" in command:
            return int(entry.name)
    return None


def test_run_stops_with_an_error_when_its_broker_dies(tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(FLOW)
    log = (tmp_path / "stderr").open("w+")
    run = subprocess.Popen([sys.executable, "-m", "ostinato", "run", str(path)], cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=log, env={**os.environ, "COLUMNS": "200"})
    try:
        deadline = time.monotonic() + 60
        while "execution " not in Path(log.name).read_text():  # requested: the stack is up
            assert run.poll() is None, Path(log.name).read_text()
            assert time.monotonic() < deadline, "ostinato run did not start its execution"
            time.sleep(0.1)
        broker = broker_of(run.pid)
        assert broker is not None
        os.kill(broker, signal.SIGKILL)
        code = run.wait(timeout=30)  # not for ever
        text = Path(log.name).read_text()
        assert code == 1, text
        assert "the embedded broker stopped, so this run cannot finish" in text
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
