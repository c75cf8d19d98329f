"""Kestra's own test flows, run through the decider and the runnable tasks in-process.

Every case of `EXPECTED.yaml` that asserts something is a test; each asserted field is
checked (tests/conformance/checks.py). Cases that need the scheduler or the API are marked
expected-to-fail with their reason (they belong to later issues).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import pytest

from ostinato.decider import Settings
from ostinato.decider import events as ev
from ostinato.decider.context import envs_from
from ostinato.execution.model import Execution
from ostinato.flow.model import Flow
from ostinato.flow.parser import parse_flow_file
from ostinato.inprocess import InProcessRunner, LogRecord

from tests.conformance.checks import run_case
from tests.conformance.corpus import (
    CORPUS_DIR, DEFERRED, Case, case_params, corpus_available, corpus_environment,
    corpus_flow_files,
)

pytestmark = pytest.mark.skipif(
    not corpus_available(), reason=f"the Kestra corpus is not at {CORPUS_DIR}: nothing to check"
)


class InProcessCorpusRunner:
    """The corpus runner interface over the in-process driver and its virtual clock."""

    def __init__(self, runner: InProcessRunner) -> None:
        self.runner = runner

    @property
    def now(self) -> datetime:
        return self.runner.now

    @property
    def executions(self) -> dict[str, Execution]:
        return self.runner.executions

    def flow(self, namespace: str, flow_id: str) -> Flow:
        return self.runner.flows[(namespace, flow_id)]

    def run(self, flow: Flow, inputs: dict[str, Any], *, labels: dict[str, Any] | None,
            type_inputs: bool) -> Execution:
        return self.runner.run(flow, inputs, labels=labels, type_inputs=type_inputs)

    def start(self, flow: Flow, inputs: dict[str, Any], *, schedule_date: datetime | None = None) -> str:
        return self.runner.start(flow, inputs, schedule_date=schedule_date)

    def wait_state(self, execution_id: str, state: str) -> Execution:
        runs = self.runner.executions
        self.runner.run_until_idle(until=lambda: execution_id in runs and runs[execution_id].state.current == state)
        return runs[execution_id]

    def wait_finished(self, execution_id: str) -> Execution:
        self.runner.run_until_idle()
        return self.runner.executions[execution_id]

    def resume(self, execution_id: str) -> None:
        self.runner.send(lambda event_id, at: ev.Resume(event_id, at, execution_id))

    def executions_of(self, namespace: str, flow_id: str, count: int) -> list[Execution]:
        self.runner.run_until_idle()
        return self.runner.executions_of(namespace, flow_id)

    def logs_of(self, execution_id: str) -> list[LogRecord]:
        return self.runner.logs_of(execution_id)

    def wait_for(self, condition: Callable[[], Any], *, what: str) -> Any:
        """Nothing is in flight once the driver is idle: check once."""
        value = condition()
        if not value:
            raise TimeoutError(what)
        return value


@pytest.fixture
def runner(tmp_path: Path) -> InProcessCorpusRunner:
    envs, globals_ = corpus_environment()
    driver = InProcessRunner(storage_dir=tmp_path / "storage",
                             settings=Settings(envs=envs_from(envs), globals=globals_))
    for path in corpus_flow_files():
        driver.deploy(parse_flow_file(path))
    return InProcessCorpusRunner(driver)


@pytest.mark.parametrize("case", case_params(DEFERRED))
def test_corpus_case(case: Case, runner: InProcessCorpusRunner, tmp_path: Path) -> None:
    run_case(case, runner, tmp_path)



