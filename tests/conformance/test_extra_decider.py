"""ostinato's own conformance cases (tests/conformance/extra/), through the decider and the
runnable tasks in-process: Kestra's test flows for LoopUntil/WaitFor, SLA, Labels, Exit and
Assert, with what Kestra's tests assert."""

from __future__ import annotations

from pathlib import Path

import pytest

from ostinato.flow.parser import parse_flow_file
from ostinato.inprocess import InProcessRunner

from tests.conformance.corpus import Case
from tests.conformance.extra_checks import extra_flow_files, load_extra_cases, run_extra_case
from tests.conformance.test_corpus_decider import InProcessCorpusRunner


@pytest.fixture
def runner(tmp_path: Path) -> InProcessCorpusRunner:
    driver = InProcessRunner(storage_dir=tmp_path / "storage")
    for path in extra_flow_files():
        driver.deploy(parse_flow_file(path))
    return InProcessCorpusRunner(driver)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in load_extra_cases()])
def test_extra_case(case: Case, runner: InProcessCorpusRunner) -> None:
    run_extra_case(case, runner)
