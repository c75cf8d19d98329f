"""Which internal-storage files an execution may read: Kestra's rule, one check."""

from __future__ import annotations

from pathlib import Path

import pytest

from ostinato.storage import LocalStorage
from ostinato.storage.scope import (
    ExecutionRef,
    FileOutOfScope,
    FileScope,
    ScopedStorage,
    file_links,
    scope_of,
)

OWN = ExecutionRef("company.team", "flow", "E1")
SCOPE = FileScope(OWN, parent=ExecutionRef("other.ns", "parent", "P1"), children=frozenset({"C1"}))


@pytest.mark.parametrize("path", [
    "company/team/flow/executions/E1/tasks/t/r/out.txt",        # its own execution
    "company/team/another/executions/E9/inputs/f/data.csv",     # its namespace's executions
    "company/team/_files/scripts/run.sh",                       # namespace files
    "other/ns/parent/executions/P1/tasks/t/r/x.txt",            # its parent
    "elsewhere/child/executions/C1/tasks/t/r/y.txt",            # a child it started
])
def test_reads_its_namespace_its_parent_and_its_children(path: str) -> None:
    assert SCOPE.check(f"kestra:///{path}") == path


@pytest.mark.parametrize("path", [
    "company/other/flow/executions/E2/tasks/t/r/out.txt",       # a sibling namespace
    "company/team/sub/flow/executions/E3/tasks/t/r/out.txt",    # a deeper namespace
    "company/team/sub/executions/executions/E3/x.txt",          # deeper, flow `executions`
    "other/ns/parent/executions/P2/tasks/t/r/x.txt",            # another execution of the parent's flow
    "company/team",                                             # no file
    "company/team/flow/executions/E1",                          # a folder, not a file under it
])
def test_refuses_everything_else_naming_the_uri_and_the_rule(path: str) -> None:
    with pytest.raises(FileOutOfScope) as caught:
        SCOPE.check(f"kestra:///{path}")
    assert f"kestra:///{path}" in str(caught.value)
    assert "own namespace" in str(caught.value)


def test_links_come_only_from_a_subflow_or_flow_trigger() -> None:
    parent = {"executionId": "P1", "namespace": "a", "flowId": "p"}
    linked = file_links({"type": "io.kestra.plugin.core.flow.Subflow", "variables": parent}, ["C1", None])
    assert linked == {"parent": parent, "children": ["C1"]}
    # a webhook's variables are the caller's: they link nothing
    assert file_links({"type": "io.kestra.plugin.core.trigger.Webhook", "variables": parent}, []) == {}
    scope = scope_of("b", "f", "E", linked)
    assert scope.parent == ExecutionRef("a", "p", "P1") and scope.children == {"C1"}


def test_scoped_storage_reads_in_scope_and_writes_only_its_own_folder(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    secret = storage.put("company/other/flow/executions/E2/tasks/t/r/secret.txt", b"A's data")
    scoped = ScopedStorage(storage, SCOPE)
    mine = scoped.put("company/team/flow/executions/E1/tasks/t/r/out.txt", b"mine")
    assert scoped.get(mine) == b"mine" and scoped.size(mine) == 4 and scoped.exists(mine)
    for read in (scoped.get, scoped.open, scoped.exists, scoped.size):
        with pytest.raises(FileOutOfScope):
            read(secret)  # type: ignore[operator]
    with pytest.raises(FileOutOfScope):
        scoped.put("company/team/another/executions/E9/x.txt", b"not mine to write")
    with pytest.raises(FileOutOfScope):
        scoped.delete_prefix("company/team/flow/executions/E1")
