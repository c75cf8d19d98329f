"""Which internal-storage files an execution may read (DESIGN.md, invariant 8).

Kestra's rule: a flow reads the files of its own namespace (its executions' files and the
namespace files under `<namespace>/_files/`) and those of the executions it is linked to:
the execution that started it (a Subflow's parent, or the execution whose end fired a
Flow trigger) and the executions it started (its Subflow children). Nothing else: a URI
of another namespace's execution is refused, whoever passes it (a `read()` in a template,
a FILE input given as a URI, a script's `inputFiles`, an HTTP request's multipart file).

`FileScope.check` is the one check; `ScopedStorage` puts it in front of a `Storage`, so
every task and the `read()` function use it through the storage they are given. Writes go
only under the execution's own folder.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from ostinato.storage.base import SCHEME, Storage, execution_prefix, uri_path

#: the trigger types whose execution "started" the one they created (its files are readable)
LINKING_TRIGGERS = frozenset({
    "io.kestra.plugin.core.flow.Subflow",
    "io.kestra.core.tasks.flows.Subflow",
    "io.kestra.core.tasks.flows.Flow",
    "io.kestra.plugin.core.flow.ForEachItem",
    "io.kestra.plugin.core.trigger.Flow",
    "io.kestra.core.models.triggers.types.Flow",
})

#: where a worker task carries the executions its own is linked to (set by the executor)
LINKS_VARIABLE = "__files__"

RULE = ("a flow reads only the internal-storage files of its own namespace and of the "
        "executions it started or was started by")


class FileOutOfScope(PermissionError):
    """A storage URI the execution may not read (or write); the message names the URI and
    the rule."""


@dataclass(frozen=True)
class ExecutionRef:
    """An execution, as far as its storage folder is concerned."""

    namespace: str
    flow_id: str
    execution_id: str

    @property
    def prefix(self) -> str:
        return execution_prefix(self.namespace, self.flow_id, self.execution_id)


@dataclass(frozen=True)
class FileScope:
    """What one execution may read: its namespace, its parent, its children (by id)."""

    own: ExecutionRef
    parent: ExecutionRef | None = None
    children: frozenset[str] = field(default_factory=frozenset)

    def allows(self, path: str) -> bool:
        """Whether the normalised storage `path` is a file this execution may read."""
        segments = path.split("/")
        if _under(path, self.own.prefix) or _of_namespace(segments, self.own.namespace):
            return True
        if self.parent is not None and _under(path, self.parent.prefix):
            return True
        return bool(self.children) and _of_child(segments, self.children)

    def check(self, uri: str) -> str:
        """The storage path of `uri` when this execution may read it; FileOutOfScope (naming
        the URI, the execution and the rule) otherwise, ValueError for a URI that is not one."""
        path = uri_path(uri)
        if not self.allows(path):
            raise FileOutOfScope(
                f"`{uri}` is out of this execution's reach: {RULE} (execution "
                f"{self.own.execution_id} of {self.own.namespace}.{self.own.flow_id} may read "
                f"kestra:///{self.own.namespace.replace('.', '/')}/...{self._linked_text()})")
        return path

    def check_write(self, uri: str) -> str:
        """The storage path of `uri` when it is under the execution's own folder."""
        path = uri_path(uri)
        if not _under(path, self.own.prefix):
            raise FileOutOfScope(f"`{uri}` is outside this execution's folder "
                                 f"{SCHEME}/{self.own.prefix}/: a task writes only there")
        return path

    def _linked_text(self) -> str:
        parts = []
        if self.parent is not None:
            parts.append(f"its parent's kestra:///{self.parent.prefix}/...")
        if self.children:
            parts.append(f"the files of its {len(self.children)} subflow execution(s)")
        return "".join(f", {p}" for p in parts)


def _under(path: str, prefix: str) -> bool:
    return path.startswith(prefix + "/")


def _of_namespace(segments: list[str], namespace: str) -> bool:
    """`<namespace>/<flow>/executions/<id>/<file...>` or `<namespace>/_files/<file...>`.

    A deeper namespace (`<namespace>.sub`) is another namespace: its paths are recognised
    by the `executions` segment's place, and a path readable both ways is refused."""
    head = namespace.split(".")
    n = len(head)
    if segments[:n] != head or len(segments) <= n + 1:
        return False
    rest = segments[n:]
    if rest[0] == "_files":
        return True
    if len(rest) < 4 or rest[1] != "executions":
        return False
    # `<namespace>.<flow>` with a flow named `executions` reads the same: not ours then
    return rest[2] != "executions"


def _of_child(segments: list[str], children: frozenset[str]) -> bool:
    """`<namespace>/<flow>/executions/<child id>/<file...>` for one of `children`."""
    return any(segments[i] == "executions" and segments[i + 1] in children
               for i in range(2, len(segments) - 2))


def scope_of(namespace: str, flow_id: str, execution_id: str,
             links: Mapping[str, Any] | None) -> FileScope:
    """The scope of an execution, with the links `file_links` computed for it."""
    links = links or {}
    parent = links.get("parent")
    parent_ref = None
    if isinstance(parent, Mapping) and all(parent.get(k) for k in ("namespace", "flowId", "executionId")):
        parent_ref = ExecutionRef(str(parent["namespace"]), str(parent["flowId"]),
                                  str(parent["executionId"]))
    children = links.get("children") or []
    return FileScope(ExecutionRef(namespace, flow_id, execution_id), parent_ref,
                     frozenset(str(c) for c in children))


def file_links(trigger: Mapping[str, Any] | None, child_ids: Iterable[str | None]) -> dict[str, Any]:
    """The executions an execution is linked to, as a worker task carries them: the one
    that started it (from its trigger, when that is a Subflow or a Flow trigger) and the
    ids of those it started. Small: a parent and the child ids, nothing else."""
    links: dict[str, Any] = {}
    if trigger and trigger.get("type") in LINKING_TRIGGERS:
        variables = trigger.get("variables") or {}
        if all(variables.get(k) for k in ("namespace", "flowId", "executionId")):
            links["parent"] = {k: str(variables[k]) for k in ("namespace", "flowId", "executionId")}
    children = sorted({c for c in child_ids if c})
    if children:
        links["children"] = children
    return links


class ScopedStorage:
    """A `Storage` that lets one execution read only what its `FileScope` allows and write
    only under its own folder. Every error names the URI and the rule."""

    def __init__(self, storage: Storage, scope: FileScope) -> None:
        self.storage = storage
        self.scope = scope

    def put(self, uri_path: str, data: bytes) -> str:
        return self.storage.put(self.scope.check_write(uri_path), data)

    def get(self, uri: str) -> bytes:
        return self.storage.get(self.scope.check(uri))

    def open(self, uri: str) -> BinaryIO:
        return self.storage.open(self.scope.check(uri))

    def exists(self, uri: str) -> bool:
        return self.storage.exists(self.scope.check(uri))

    def size(self, uri: str) -> int:
        return self.storage.size(self.scope.check(uri))

    def delete_prefix(self, uri: str) -> int:
        raise FileOutOfScope(f"`{uri}`: a task may not delete internal-storage folders")

    def read_text(self, uri: str) -> str:
        """The file at `uri` as text: the `read()` function's reader. A path that is not a
        `kestra://` URI names a namespace file of the execution's namespace, as in Kestra
        (`read('scripts/query.sql')`)."""
        if not uri.startswith(SCHEME):
            from ostinato.storage.namespace_files import storage_path

            try:
                return self.get(storage_path(self.scope.own.namespace, uri)).decode()
            except FileNotFoundError:
                raise FileNotFoundError(f"no namespace file `{uri}` in namespace "
                                        f"{self.scope.own.namespace}") from None
        return self.get(uri).decode()

    def files_under(self, uri: str) -> list[str]:
        """The files under the folder `uri` (relative paths) when this execution may read
        there (FileOutOfScope otherwise); none when the storage cannot list folders."""
        folder = uri_path(uri)
        if not self.scope.allows(folder + "/_"):  # a folder is readable when its files are
            raise FileOutOfScope(f"`{uri}` is out of this execution's reach: {RULE} (execution "
                                 f"{self.scope.own.execution_id} of namespace "
                                 f"{self.scope.own.namespace})")
        lister = getattr(self.storage, "files_under", None)
        return list(lister(uri)) if lister is not None else []


def execution_file_links(execution: Any, *, children: bool = True) -> dict[str, Any]:
    """`file_links` of an `Execution`: its trigger, and (when `children`) the child
    executions its Subflow task runs started (ids the decider set, never a task's output)."""
    child_ids: Iterable[str | None] = ()
    if children:
        child_ids = [run.progress.child_execution_id for run in execution.task_run_list
                     if run.progress.child_execution_id]
    return file_links(execution.trigger, child_ids)


def out_of_scope_inputs(file_inputs: Iterable[str], given: Mapping[str, Any],
                        scope: FileScope) -> list[str]:
    """An error for each FILE input given as a `kestra://` URI the execution may not read
    (refused where inputs are received, rather than when a task first reads it)."""
    errors = []
    for input_id in file_inputs:
        value = given.get(input_id)
        if not (isinstance(value, str) and value.startswith(SCHEME)):
            continue
        try:
            scope.check(value)
        except (FileOutOfScope, ValueError) as error:
            errors.append(f"Invalid input for `{input_id}`: {error}")
    return errors
