"""Kestra's corpus through the real services: executor and worker processes on the
embedded broker, driven only through topics (tests/conformance/checks.py checks each case)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance.checks import run_case
from tests.conformance.corpus import (
    CORPUS_DIR, DEFERRED, Case, case_params, corpus_available, corpus_flow_files,
)
from ostinato.harness import ServiceRunner

pytestmark = pytest.mark.skipif(
    not corpus_available(), reason=f"the Kestra corpus is not at {CORPUS_DIR}: nothing to check"
)



@pytest.fixture(scope="module")
def corpus_bus(bus: ServiceRunner) -> ServiceRunner:
    for path in corpus_flow_files():
        bus.deploy(path.read_text())
    return bus


@pytest.mark.parametrize("case", case_params(DEFERRED))
def test_corpus_case(case: Case, corpus_bus: ServiceRunner, tmp_path: Path) -> None:
    run_case(case, corpus_bus, tmp_path)
