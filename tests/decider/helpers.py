"""Small helpers for decider tests: parse a flow, run it in-process."""

from __future__ import annotations

from pathlib import Path

from ostinato.execution.model import Execution
from ostinato.flow.model import Flow
from ostinato.flow.parser import parse_flow
from ostinato.inprocess import InProcessRunner


def flow_of(source: str) -> Flow:
    return parse_flow(source)


def run_flow(tmp_path: Path, source: str, inputs: dict[str, object] | None = None) -> tuple[InProcessRunner, Execution]:
    runner = InProcessRunner(storage_dir=tmp_path / "storage")
    flow = runner.deploy(source)
    return runner, runner.run(flow, inputs or {})


def task_ids(execution: Execution) -> list[str]:
    return [run.task_id for run in execution.task_run_list]
