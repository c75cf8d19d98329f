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


EVERYTHING = """
import logging, threading, warnings
from ostinato.logging import configure_logging, kafka_logger
configure_logging(service="probe", json_lines=True)
logging.getLogger("uvicorn.access").warning('%s - "%s %s HTTP/%s" %d', "127.0.0.1", "GET", "/", "1.1", 404)
warnings.warn("an old API", DeprecationWarning)
kafka_logger().error("FAIL [rdkafka#consumer-1] connection refused")
def boom():
    raise RuntimeError("in a thread")
thread = threading.Thread(target=boom, name="worker-thread")
thread.start()
thread.join()
raise ValueError("in the main thread")
"""


def test_standard_logging_warnings_librdkafka_and_uncaught_exceptions_are_json_lines() -> None:
    result = subprocess.run([sys.executable, "-W", "always", "-c", EVERYTHING], capture_output=True,
                            text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 1, result.stderr
    lines = [json.loads(line) for line in result.stderr.strip().splitlines()]  # each one JSON
    def the(event: str) -> dict[str, object]:
        return next(line for line in lines if line["event"] == event)

    access = the('127.0.0.1 - "GET / HTTP/1.1" 404')
    assert (access["logger"], access["level"], access["service"]) == ("uvicorn.access", "warning", "probe")
    warning = next(line for line in lines if line.get("logger") == "py.warnings")
    assert "DeprecationWarning: an old API" in warning["event"]
    assert the("FAIL [rdkafka#consumer-1] connection refused")["logger"] == "librdkafka"
    in_thread = the("uncaught exception in a thread")
    assert in_thread["thread"] == "worker-thread" and "RuntimeError: in a thread" in str(in_thread["exception"])
    in_main = the("uncaught exception")
    assert in_main["level"] == "critical" and "ValueError: in the main thread" in str(in_main["exception"])
