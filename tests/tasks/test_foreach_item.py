"""ForEachItem through the in-process driver: the merged outputs file (one line per child,
as ForEachItemCaseTest asserts), the ways to cut batches, and an `items` that is not an
internal-storage URI (Kestra's message)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ostinato.execution.model import Execution
from ostinato.flow.parser import parse_flow_file
from ostinato.inprocess import InProcessRunner

from tests.conformance.extra_checks import EXTRA_DIR

CHILD = """
id: child
namespace: company.team
inputs:
  - {id: batch, type: STRING}
  - {id: number, type: INT}
tasks:
  - {id: read, type: io.kestra.plugin.core.debug.Return, format: "{{ read(inputs.batch) | trim }}"}
outputs:
  - {id: lines, type: STRING, value: "{{ outputs.read.value }}"}
  - {id: number, type: INT, value: "{{ inputs.number }}"}
"""
PARENT = """
id: parent
namespace: company.team
inputs:
  - {id: file, type: FILE}
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEachItem
    items: "ITEMS"
    batch: BATCH
    namespace: company.team
    flowId: child
    inputs: {batch: "{{ taskrun.items }}", number: "{{ taskrun.iteration }}"}
"""


@pytest.fixture
def runner(tmp_path: Path) -> InProcessRunner:
    driver = InProcessRunner(storage_dir=tmp_path / "storage")
    for path in EXTRA_DIR.glob("for-each-item*.yaml"):
        driver.deploy(parse_flow_file(path))
    driver.deploy(CHILD)
    return driver


def _items(tmp_path: Path, count: int) -> str:
    path = tmp_path / "items.txt"
    path.write_text("".join(f"{n:>20}\n" for n in range(count)))
    return str(path)


def _merged(runner: InProcessRunner, execution: Execution) -> list[str]:
    merge = next(r for r in execution.task_run_list if r.task_id == "each_merge")
    return runner.storage.get(merge.outputs["subflowOutputs"]).decode().splitlines()


def test_merged_outputs_have_one_line_per_child(runner: InProcessRunner, tmp_path: Path) -> None:
    flow = runner.flows[("io.kestra.tests", "for-each-item-outputs")]
    execution = runner.run(flow, {"file": _items(tmp_path, 102)}, type_inputs=True)
    assert execution.state.current == "SUCCESS"
    lines = _merged(runner, execution)
    assert len(lines) == 26
    assert lines[0] == '{"value":"' + "".join(f"{n:>20}\\n" for n in range(4)) + '"}'
    assert execution.task_run_list[-1].outputs == {"value": execution.task_run_list[3].outputs["subflowOutputs"]}


@pytest.mark.parametrize(("batch", "expected"), [
    ("{rows: 3}", [["0", "1", "2"], ["3", "4", "5"], ["6"]]),
    ("{partitions: 2}", [["0", "2", "4", "6"], ["1", "3", "5"]]),
    ("{bytes: 40}", [["0", "1"], ["2", "3"], ["4", "5"], ["6"]]),
])
def test_batches_by_rows_partitions_or_bytes(runner: InProcessRunner, tmp_path: Path, batch: str,
                                             expected: list[list[str]]) -> None:
    flow = runner.deploy(PARENT.replace("ITEMS", "{{ inputs.file }}").replace("BATCH", batch))
    execution = runner.run(flow, {"file": _items(tmp_path, 7)}, type_inputs=True)
    assert execution.state.current == "SUCCESS"
    lines = _merged(runner, execution)
    got = [([item.strip() for item in line.split('"lines":"')[1].split('"')[0].split("\\n")],
            line.split('"number":')[1].rstrip("}")) for line in lines]
    assert [items for items, _ in got] == expected
    assert [number for _, number in got] == [str(n) for n in range(1, len(expected) + 1)]


def test_items_not_in_internal_storage_fail_with_kestras_message(runner: InProcessRunner) -> None:
    source = PARENT.replace("ITEMS", "/tmp/items.txt").replace("BATCH", "{rows: 1}")
    flow = runner.deploy(source.replace("inputs:\n  - {id: file, type: FILE}\n", ""))
    execution = runner.run(flow, {})
    assert execution.state.current == "FAILED"
    assert [r.task_id for r in execution.task_run_list] == ["each", "each_split"]
    messages = [log.message for log in runner.logs if log.execution_id == execution.id]
    assert "Unable to split the items from /tmp/items.txt, this is not an internal storage URI!" in messages
