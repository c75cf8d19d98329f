"""ostinato's own conformance cases (tests/conformance/extra/: Kestra's test flows for
LoopUntil/WaitFor, SLA, Labels, Exit and Assert) through the real services on the embedded
broker, checked as in-process (tests/conformance/extra_checks.py)."""

from __future__ import annotations

import pytest

from ostinato.harness import ServiceRunner

from tests.conformance.corpus import Case
from tests.conformance.extra_checks import extra_flow_files, load_extra_cases, run_extra_case

#: cases left to the in-process run, with the reason
DEFERRED = {
    "waitfor-multiple-tasks.yaml": "LoopUntil's default interval is one minute: its three "
                                   "iterations take two minutes of wall time here",
}


@pytest.fixture(scope="module")
def extra_bus(bus: ServiceRunner) -> ServiceRunner:
    for path in extra_flow_files():
        bus.deploy(path.read_text())
    return bus


def _params() -> list[object]:
    return [pytest.param(case, id=case.name, marks=[pytest.mark.skip(reason=DEFERRED[case.file])]
                         if case.file in DEFERRED else [])
            for case in load_extra_cases()]


@pytest.mark.parametrize("case", _params())
def test_extra_case(case: Case, extra_bus: ServiceRunner) -> None:
    run_extra_case(case, extra_bus)
