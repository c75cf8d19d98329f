"""Kestra's corpus through the real services: executor, worker, scheduler and API processes
on the embedded broker, driven through topics (and HTTP for webhooks; tests/conformance/
checks.py checks each case)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance.checks import run_case
from tests.conformance.corpus import (
    CORPUS_DIR, DEFERRED_SERVICES, Case, case_params, corpus_available, corpus_flow_files,
)
from ostinato.cli.stack import LocalStack
from ostinato.harness import ServiceRunner
from tests.api.conftest import wait_until_serving

pytestmark = pytest.mark.skipif(
    not corpus_available(), reason=f"the Kestra corpus is not at {CORPUS_DIR}: nothing to check"
)



@pytest.fixture(scope="module")
def corpus_bus(bus: ServiceRunner, stack: LocalStack) -> ServiceRunner:
    for path in corpus_flow_files():
        bus.deploy(path.read_text())
    bus.api_url = f"http://127.0.0.1:{stack.api_port}"
    wait_until_serving(bus.api_url)
    return bus


@pytest.mark.parametrize("case", case_params(DEFERRED_SERVICES))
def test_corpus_case(case: Case, corpus_bus: ServiceRunner, tmp_path: Path) -> None:
    run_case(case, corpus_bus, tmp_path)
