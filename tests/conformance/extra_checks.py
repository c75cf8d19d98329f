"""ostinato's own conformance cases (tests/conformance/extra/): Kestra test flows for task
types beyond the shared corpus, with what Kestra's tests assert. Same shape as the corpus
(EXPECTED.yaml beside the flows); run on any `CorpusRunner` (in-process or the services).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ostinato.execution.model import Execution

from tests.conformance.checks import CorpusRunner, check_execution
from tests.conformance.corpus import Case, first_run, matches

EXTRA_DIR = Path(__file__).resolve().parent / "extra"
#: asserted fields checked here rather than by checks.check_execution
LABEL_FIELDS = ("labels_exactly", "labels_include")


def load_extra_cases() -> list[Case]:
    """Every case of extra/EXPECTED.yaml."""
    expected = yaml.safe_load((EXTRA_DIR / "EXPECTED.yaml").read_text())
    return [Case(entry["file"], index, spec, entry)
            for entry in expected["flows"] for index, spec in enumerate(entry["cases"])]


def extra_flow_files() -> list[Path]:
    return sorted(p for p in EXTRA_DIR.glob("*.y*ml") if p.name != "EXPECTED.yaml")


def run_extra_case(case: Case, runner: CorpusRunner) -> Execution:
    """Run the case's flow with its inputs and labels, and check every asserted field."""
    flow_ref = case.entry["flow"]
    flow = runner.flow(flow_ref["namespace"], flow_ref["id"])
    inputs = dict(case.spec.get("inputs") or {})
    execution = runner.run(flow, inputs, labels=case.spec.get("labels_given"), type_inputs=bool(inputs))
    asserted = dict(case.asserted)
    labels = {key: asserted.pop(key) for key in LABEL_FIELDS if key in asserted}
    check_execution(runner, execution, asserted)
    check_labels(execution, labels)
    return execution


def _placeholder(execution: Execution, value: Any) -> Any:
    text = str(value)
    if text == "<execution id>":
        return execution.id
    if text.startswith("<id of task run "):
        return first_run(execution, text[len("<id of task run "):-1]).id
    return value


def check_labels(execution: Execution, asserted: dict[str, Any]) -> None:
    """`labels_exactly`: the execution's labels are these; `labels_include`: it has these."""
    for field, expected in asserted.items():
        wanted = {k: _placeholder(execution, v) for k, v in expected.items()}
        if field == "labels_exactly":
            assert set(execution.labels) == set(wanted), (execution.labels, wanted)
        for key, value in wanted.items():
            matches(execution.labels.get(key), value)
