"""What a failed test prints so that a CI run, which keeps no files, can be diagnosed."""

from __future__ import annotations

import pytest

from ostinato.cli.stack import LocalStack


def print_service_logs(request: pytest.FixtureRequest, stack: LocalStack, lines: int = 40) -> None:
    """After a failed test, print the tail of each service's log (a CI run keeps nothing else)."""
    report = getattr(request.node, "rep_call", None)
    if report is None or not report.failed:
        return
    for log in sorted((stack.data_dir / "logs").glob("*.log")):
        tail = [line for line in log.read_text(errors="replace").splitlines()
                if not line.startswith("%")][-lines:]
        print(f"--- the last {len(tail)} lines of {log.name}:\n" + "\n".join(tail))
