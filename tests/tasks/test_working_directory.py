"""WorkingDirectory through the decider and the in-process driver, the worker side's
snapshots (a child that lands on another worker resumes from the last child's directory),
the items format and the storage runners."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ostinato.decider import commands as cmd
from ostinato.flow.parser import parse_flow
from ostinato.flow.tasks_storage import WorkingGroup
from ostinato.inprocess import InProcessRunner
from ostinato.storage import LocalStorage
from ostinato.tasks.base import RunContext
from ostinato.tasks.storage.files import split_data
from ostinato.tasks.storage.items import parse_item
from ostinato.tasks.working_directory import WorkingDirectories, run_worker_task

# Kestra's working-directory-outputs.yml and working-directory-inputs.yml
OUTPUTS = """
id: working-directory-outputs
namespace: io.kestra.tests
tasks:
  - id: workingDir
    type: io.kestra.plugin.core.flow.WorkingDirectory
    outputFiles:
      - output.txt
    tasks:
      - id: outputFiles
        type: io.kestra.plugin.core.storage.LocalFiles
        inputs:
          output.txt: "Hello World"
"""
INPUTS = """
id: working-directory-inputs
namespace: io.kestra.tests
tasks:
  - id: workingDir
    type: io.kestra.plugin.core.flow.WorkingDirectory
    inputFiles:
      input.txt: Hello World
    tasks:
      - id: inputFiles
        type: io.kestra.plugin.core.storage.LocalFiles
        outputs:
          - input.txt
"""


def test_outputs_of_the_working_directory(tmp_path: Path) -> None:
    runner = InProcessRunner(storage_dir=tmp_path)
    execution = runner.run(runner.deploy(OUTPUTS))
    assert execution.state.current == "SUCCESS"
    wd = next(r for r in execution.task_run_list if r.task_id == "workingDir")
    assert len(wd.attempts) == 1  # its last attempt: the files collected on a worker
    assert runner.storage.get(wd.outputs["outputFiles"]["output.txt"]) == b"Hello World"
    assert len(runner.working_directories) == 0  # the directory is removed at the end


def test_input_files_are_written_first(tmp_path: Path) -> None:
    runner = InProcessRunner(storage_dir=tmp_path)
    execution = runner.run(runner.deploy(INPUTS))
    child = next(r for r in execution.task_run_list if r.task_id == "inputFiles")
    assert runner.storage.get(child.outputs["uris"]["input.txt"]) == b"Hello World"


def test_children_carry_their_group_and_others_do_not(tmp_path: Path) -> None:
    runner = InProcessRunner(storage_dir=tmp_path)
    flow = runner.deploy(INPUTS)
    sent: list[cmd.RunTask] = []
    original = runner._run_worker_task

    def spy(command: cmd.RunTask) -> None:
        sent.append(command)
        original(command)

    runner._run_worker_task = spy  # type: ignore[method-assign]
    execution = runner.run(flow)
    wd = next(r for r in execution.task_run_list if r.task_id == "workingDir")
    child, last = sent
    group = WorkingGroup.from_json(child.working_directory)
    assert group is not None and group.id == wd.id and group.input_files == {"input.txt": "Hello World"}
    assert last.task_run_id == wd.id and last.working_directory is None


def _context(storage: LocalStorage) -> RunContext:
    variables = {"flow": {"namespace": "io.kestra.tests", "id": "f"}, "execution": {"id": "e1"},
                 "taskrun": {"id": "child"}}
    return RunContext(variables=variables, storage=storage, clock=lambda: datetime(2024, 1, 1, tzinfo=UTC))


def test_a_child_on_another_worker_resumes_from_the_snapshot(tmp_path: Path) -> None:
    """Worker A runs the first child; the partition moves; worker B runs the second child
    in the directory A left (restored from the snapshot), not in an empty one."""
    storage = LocalStorage(tmp_path / "storage")
    flow = parse_flow("""
id: f
namespace: io.kestra.tests
tasks:
  - id: wd
    type: io.kestra.plugin.core.flow.WorkingDirectory
    inputFiles: {a.txt: from setup}
    tasks:
      - {id: write, type: io.kestra.plugin.core.storage.LocalFiles, inputs: {b.txt: from A}}
      - {id: read, type: io.kestra.plugin.core.storage.LocalFiles, outputs: ["*.txt"]}
""")
    wd = flow.tasks[0]
    group = WorkingGroup("wd-run", "wd", {"a.txt": "from setup"}).to_json()
    worker_a, worker_b = WorkingDirectories(tmp_path), WorkingDirectories(tmp_path)
    first = run_worker_task(wd.tasks[0], _context(storage), task_run_id="c1", attempt=1,
                            group=group, directories=worker_a)
    assert first.state == "SUCCESS"
    second = run_worker_task(wd.tasks[1], _context(storage), task_run_id="c2", attempt=1,
                             group=group, directories=worker_b)
    assert second.state == "SUCCESS", second.logs
    assert {storage.get(u).decode() for u in second.outputs["uris"].values()} == {"from setup", "from A"}
    # worker A's copy is stale now: a third child there restores B's snapshot
    third = run_worker_task(wd.tasks[1], _context(storage), task_run_id="c3", attempt=1,
                            group=group, directories=worker_a)
    assert set(third.outputs["uris"]) == {"a.txt", "b.txt"}


def test_ion_lines_are_read() -> None:
    assert parse_item('{id:1,name:"a",f:1.5e0,at:2024-01-01T00:00:00Z,n:null.string}') == {
        "id": 1, "name": "a", "f": 1.5, "at": "2024-01-01T00:00:00Z", "n": None}
    assert parse_item('{"a": [1, 2]}') == {"a": [1, 2]}


@pytest.mark.parametrize("kwargs, parts", [
    ({"rows": 2}, [b"1\n2\n", b"3\n4\n", b"5"]),
    ({"partitions": 2}, [b"1\n3\n5", b"2\n4\n"]),
    ({"size": 3}, [b"1\n2\n", b"3\n4\n", b"5"]),
])
def test_split(kwargs: dict[str, int], parts: list[bytes]) -> None:
    assert split_data(b"1\n2\n3\n4\n5", b"\n", **kwargs) == parts


def test_only_runnable_children_validate() -> None:
    with pytest.raises(Exception, match="Only runnable tasks"):
        parse_flow("""
id: f
namespace: a
tasks:
  - id: wd
    type: io.kestra.plugin.core.flow.WorkingDirectory
    tasks:
      - id: p
        type: io.kestra.plugin.core.flow.Parallel
        tasks: [{id: r, type: io.kestra.plugin.core.debug.Return, format: x}]
""")


def test_namespace_files_are_copied_first(tmp_path: Path) -> None:
    """Kestra's working-directory-namespace-files.yaml, with a script reading the files
    (Kestra's own uses a test-only Read task)."""
    runner = InProcessRunner(storage_dir=tmp_path)
    for path in ("test/a/b/c/1.txt", "a/b/c/2.txt", "ignore/4.txt"):
        runner.storage.put(f"io/kestra/tests/_files/{path}", path.encode())
    execution = runner.run(runner.deploy("""
id: working-directory-namespace-files
namespace: io.kestra.tests
tasks:
  - id: worker
    type: io.kestra.plugin.core.flow.WorkingDirectory
    namespaceFiles:
      enabled: true
      exclude:
        - /ignore/**
    tasks:
      - id: t1
        type: io.kestra.plugin.core.storage.LocalFiles
        outputs: ["**/*.txt"]
"""))
    child = next(r for r in execution.task_run_list if r.task_id == "t1")
    assert sorted(child.outputs["uris"]) == ["a/b/c/2.txt", "test/a/b/c/1.txt"]
