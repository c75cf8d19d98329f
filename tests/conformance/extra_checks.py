"""ostinato's own conformance cases (tests/conformance/extra/): Kestra test flows for task
types beyond the shared corpus, with what Kestra's tests assert. Same shape as the corpus
(EXPECTED.yaml beside the flows); run on any `CorpusRunner` (in-process or the services).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml

from ostinato.execution.model import Execution

from tests.conformance.checks import CorpusRunner, check_execution
from tests.conformance.corpus import Case, first_run, matches

TERMINAL = frozenset({"SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED"})
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
    inputs.update(input_files(case.spec.get("input_files") or {}))
    execution = runner.run(flow, inputs, labels=case.spec.get("labels_given"), type_inputs=bool(inputs))
    asserted = dict(case.asserted)
    labels = {key: asserted.pop(key) for key in LABEL_FIELDS if key in asserted}
    children = asserted.pop("child_executions", None)
    check_execution(runner, execution, asserted)
    check_labels(execution, labels)
    if children is not None:
        check_child_executions(runner, execution, children)
    return execution


def input_files(spec: dict[str, Any]) -> dict[str, str]:
    """FILE inputs a Kestra test uploads, written to local files (input id -> path):
    `{lines: N, pad: W}` is ForEachItemCaseTest's file, N lines of the numbers 0.. padded left
    to W characters (0 lines: its empty file)."""
    folder = Path(tempfile.mkdtemp(prefix="extra-inputs-"))
    paths = {}
    for input_id, shape in spec.items():
        path = folder / f"{input_id}.txt"
        path.write_text("".join(f"{n:>{shape.get('pad', 0)}}\n" for n in range(int(shape["lines"]))))
        paths[input_id] = str(path)
    return paths


def check_child_executions(runner: CorpusRunner, parent: Execution, spec: dict[str, Any]) -> None:
    """`child_executions`: the executions the parent started (`count`), each of `flow`,
    each in `final_state` with `task_run_count` task runs, `inputs` and `labels_include`
    (`<execution id>` stands for the parent's id)."""
    namespace, _, flow_id = str(spec["flow"]).rpartition(".")

    def children() -> list[Execution]:
        return [e for e in list(runner.executions.values())
                if (e.trigger or {}).get("variables", {}).get("executionId") == parent.id]

    expected = int(spec["count"])
    found = runner.wait_for(lambda: (lambda c: c if len(c) >= expected and all(
        e.state.current in TERMINAL for e in c) else None)(children()),
        what=f"{expected} finished child executions of {parent.id}")
    assert len(found) == expected, (len(found), expected)
    for child in found:
        assert (child.namespace, child.flow_id) == (namespace, flow_id), child.flow_id
        if "final_state" in spec:
            matches(child.state.current, spec["final_state"])
        if "task_run_count" in spec:
            matches(len(child.task_run_list), spec["task_run_count"])
        if "inputs" in spec:
            matches(child.inputs, spec["inputs"])
        for key, value in (spec.get("labels_include") or {}).items():
            matches(child.labels.get(key), _placeholder(parent, value))


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
