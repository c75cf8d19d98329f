"""Service logging: loggers made at import follow the configuration set later (JSON lines
when deployed)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.cli.test_cli import ROOT

PROGRAM = """
from ostinato.logging import configure_logging
from ostinato.kafka import flow_table  # its module-level logger exists before the configuration
configure_logging(service="probe", json_lines=True)
flow_table.log.info("hello", answer=42)
"""


def test_a_logger_made_at_import_writes_json_once_configured() -> None:
    result = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True,
                            timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert (line["event"], line["answer"], line["service"], line["component"]) == (
        "hello", 42, "probe", "flow-table")
    assert line["level"] == "info" and "T" in line["timestamp"]
