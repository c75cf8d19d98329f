"""Shared test configuration: the corpus summary line."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say how many corpus cases passed, failed and were deferred (or that none ran)."""
    from tests.conformance.corpus import CORPUS_DIR, corpus_available

    if not corpus_available():
        terminalreporter.write_line(f"conformance corpus: not found at {CORPUS_DIR}; corpus cases not run")
        return
    for module, label in (("test_corpus_decider.py::", "decider, in-process"),
                          ("test_corpus_services.py::", "services on the embedded broker")):
        counts = {"passed": 0, "failed": 0, "deferred": 0}
        for outcome, key in (("passed", "passed"), ("failed", "failed"), ("xfailed", "deferred")):
            for report in terminalreporter.stats.get(outcome, []):
                if module in report.nodeid:
                    counts[key] += 1
        if any(counts.values()):
            terminalreporter.write_line(
                f"conformance corpus ({label}): {counts['passed']} cases passed, "
                f"{counts['failed']} failed, {counts['deferred']} deferred")
