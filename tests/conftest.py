"""Shared test configuration: one embedded stack for the whole session (the Tansu broker
and the executor, worker, scheduler and API processes), and the corpus summary line."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from ostinato.broker import free_port
from ostinato.cli.stack import LocalStack
from ostinato.harness import ServiceRunner
from ostinato.wire.codec import default_codec
from tests.conformance.corpus import corpus_environment

SERVICES = ("executor", "worker", "scheduler", "api")

# The tests' broker is the embedded one: the CLI commands and services they start outside
# LocalStack (`--bootstrap-servers ...`) use its client defaults too (ostinato/kafka/config.py)
os.environ.setdefault("OSTINATO_BROKER_PROFILE", "embedded")



@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    data_dir = tmp_path_factory.mktemp("stack")
    envs, globals_ = corpus_environment()
    globals_file = data_dir / "globals.yaml"
    globals_file.write_text(yaml.safe_dump(globals_))
    stack = LocalStack(data_dir=data_dir, services=SERVICES, flow_wait=3.0, api_port=free_port(),
                       env={**envs, "OSTINATO_GLOBALS": str(globals_file),
                            "OSTINATO_API_READ_WAIT": "3"})
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()
        for name in SERVICES:
            log = data_dir / "logs" / f"{name}.log"
            if log.exists() and "Traceback" in log.read_text():
                print(f"--- {name} log had a traceback:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def bus(stack: LocalStack) -> Iterator[ServiceRunner]:
    runner = ServiceRunner(stack.settings(), default_codec(), stack.storage_dir)
    runner.watcher.start()
    try:
        yield runner
    finally:
        runner.close()
        assert runner.watcher.gaps == [], f"execution updates missed: {runner.watcher.gaps[:3]}"


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the test item (`item.rep_call`), for fixtures that say
    more when the test failed (print_service_logs)."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)


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
