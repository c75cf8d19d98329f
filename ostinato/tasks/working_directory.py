"""The worker's side of `WorkingDirectory`, and the deprecated `LocalFiles` task.

The decider sends each child of a WorkingDirectory as its own worker task (its own task
run, attempts, outputs and logs) carrying a `WorkingGroup`: the WorkingDirectory's task run
id and its setup (`inputFiles`, `namespaceFiles`). Children come one at a time, in order;
all the worker tasks of an execution are keyed by its id, so they reach the same worker
unless the partition moves (a rebalance, a worker killed). That case is made safe here:

* after each child attempt, the worker stores a snapshot of the directory (a tar.gz, its
  first member naming the attempt) in internal storage, under the WorkingDirectory's task
  run folder of the execution;
* before a child, a worker uses its local directory only when its version is the stored
  snapshot's; otherwise it restores the snapshot (another worker ran the last child), or,
  when there is none, starts a fresh directory with the setup (first child). A worker killed
  mid-child leaves the snapshot of the child before: the child, run again elsewhere (its
  offset was not committed), starts from exactly that directory.

When its children (and `errors`, `finally`) are done, the decider sends the WorkingDirectory
itself as one last attempt: `collect` uploads the `outputFiles` (outputs `outputFiles`, name
-> URI, as Kestra), removes the directory and the snapshot. A directory whose collect never
comes (the execution killed) is swept once idle for `STALE_SECONDS`.
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ostinato.flow.tasks_storage import LocalFiles, WorkingDirectory, WorkingGroup
from ostinato.storage import Storage
from ostinato.tasks.base import (
    FAILED,
    LogLine,
    RunContext,
    TaskFailed,
    TaskOutcome,
    error_message,
    register_runner,
    run_task,
    to_kestra_string,
)
from ostinato.tasks.scripts.files import (
    collect_output_files,
    relative_name,
    storage_reader,
    task_storage_prefix,
    upload_output_files,
    write_input_files,
    write_namespace_files,
)
from ostinato.tasks.storage.files import delete_file

#: the first member of a snapshot: which child attempt it was taken after
VERSION_MEMBER = ".ostinato-working-directory-version"
SNAPSHOT_NAME = ".working-directory.tar.gz"
#: a group directory untouched this long is removed (its WorkingDirectory will not collect)
STALE_SECONDS = 24 * 3600.0


def snapshot_path(variables: Mapping[str, Any], task_id: str, group_id: str) -> str:
    """Where the group's snapshot is stored: in the WorkingDirectory task run's folder."""
    base = task_storage_prefix({**variables, "taskrun": {"id": group_id}}, task_id)
    return f"{base}/{SNAPSHOT_NAME}"


@dataclass
class _Local:
    path: Path
    version: str | None
    touched: float = field(default_factory=time.monotonic)


class WorkingDirectories:
    """The group directories of one worker (or of the in-process driver)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root or tempfile.gettempdir())
        self._groups: dict[str, _Local] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------ a child

    def run_child(self, group: WorkingGroup, ctx: RunContext, version: str, run: Any) -> Any:
        """Run `run(ctx)` in the group's directory (set as `ctx.working_dir`), then store the
        snapshot of the directory as `version` (TaskFailed if it cannot be stored)."""
        local = self._prepare(group, ctx)
        ctx.working_dir = local.path
        try:
            return run(ctx)
        finally:
            self._snapshot(group, ctx, local, version)

    def _prepare(self, group: WorkingGroup, ctx: RunContext) -> _Local:
        storage = _storage(ctx)
        uri = snapshot_path(ctx.variables, group.task_id, group.id)
        stored = _stored_version(storage, uri)
        with self._lock:
            self._sweep()
            local = self._groups.get(group.id)
            if local is not None and stored is not None and local.version == stored:
                local.touched = time.monotonic()
                return local
            if local is not None:
                shutil.rmtree(local.path, ignore_errors=True)
            local = _Local(Path(tempfile.mkdtemp(prefix="ostinato-wd-", dir=self.root)), stored)
            self._groups[group.id] = local
        if stored is None:
            setup(group, ctx, local.path)
        else:
            _extract(storage.get(uri), local.path)
        return local

    def _snapshot(self, group: WorkingGroup, ctx: RunContext, local: _Local, version: str) -> None:
        data = _archive(local.path, version)
        try:
            _storage(ctx).put(snapshot_path(ctx.variables, group.task_id, group.id), data)
        except Exception as error:  # noqa: BLE001 - the next child could not resume
            raise TaskFailed(f"Unable to store the working directory's snapshot: {error}") from None
        local.version = version
        local.touched = time.monotonic()

    # ------------------------------------------------------------ the end

    def collect(self, task: WorkingDirectory, ctx: RunContext, group_id: str) -> dict[str, Any]:
        """The WorkingDirectory's last attempt: upload its `outputFiles`, remove the directory
        and its snapshot. Outputs `outputFiles` (name -> URI) when it names some."""
        if task.cache is not None:
            ctx.log("WARN", "`cache` is not supported here: the working directory starts empty")
        group = WorkingGroup(group_id, task.id, task.input_files, task.namespace_files)
        local = self._prepare(group, ctx)
        try:
            outputs: dict[str, Any] = {}
            patterns = _patterns(ctx.render(task.output_files))
            if patterns:
                files = collect_output_files(patterns, local.path, local.path / ".no-output-dir")
                prefix = task_storage_prefix(ctx.variables, task.id)
                outputs["outputFiles"] = upload_output_files(files, _storage(ctx), prefix)
            return outputs
        finally:
            self.forget(group_id)
            try:
                delete_file(ctx, snapshot_path(ctx.variables, task.id, group_id))
            except (TaskFailed, ValueError, OSError) as error:
                ctx.log("WARN", f"the working directory's snapshot was not removed: {error}")

    def forget(self, group_id: str) -> None:
        """Remove the group's local directory."""
        with self._lock:
            local = self._groups.pop(group_id, None)
        if local is not None:
            shutil.rmtree(local.path, ignore_errors=True)

    def _sweep(self) -> None:
        now = time.monotonic()
        for group_id, local in list(self._groups.items()):
            if now - local.touched > STALE_SECONDS:
                shutil.rmtree(local.path, ignore_errors=True)
                del self._groups[group_id]

    def __len__(self) -> int:
        return len(self._groups)


def setup(group: WorkingGroup, ctx: RunContext, directory: Path) -> None:
    """A fresh directory: the namespace files asked for, then the `inputFiles`."""
    if group.namespace_files is not None:  # first: inputFiles of the same name win, as in Kestra
        flow = ctx.variables.get("flow")
        namespace = str(flow.get("namespace", "")) if isinstance(flow, Mapping) else ""
        settings = ctx.render(group.namespace_files)
        copied = write_namespace_files(settings if isinstance(settings, Mapping) else {}, namespace,
                                       ctx.storage, directory)
        ctx.log("DEBUG", f"{copied} namespace file(s) copied into the working directory")
    if group.input_files is not None:
        write_input_files(_input_files(ctx.render(group.input_files)), directory,
                          storage_reader(ctx.storage))


def _input_files(value: Any) -> dict[str, str]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise TaskFailed(f"inputFiles must be a map of file names to contents, not `{value}`") from None
    if not isinstance(value, Mapping):
        raise TaskFailed("inputFiles must be a map of file names to contents")
    return {str(k): to_kestra_string(v) for k, v in value.items()}


def _patterns(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = [value]
    if not isinstance(value, list):
        raise TaskFailed("outputFiles must be a list of glob patterns")
    return [to_kestra_string(v) for v in value]


def _storage(ctx: RunContext) -> Storage:
    if ctx.storage is None:
        raise TaskFailed("a WorkingDirectory needs the internal storage, and none is configured")
    return ctx.storage


def _archive(directory: Path, version: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as archive:
        stamp = version.encode()
        info = tarfile.TarInfo(VERSION_MEMBER)
        info.size = len(stamp)
        archive.addfile(info, io.BytesIO(stamp))
        for path in sorted(directory.iterdir()):
            archive.add(path, arcname=path.name)
    return buffer.getvalue()


def _stored_version(storage: Storage, uri: str) -> str | None:
    if not storage.exists(uri):
        return None
    with storage.open(uri) as handle, tarfile.open(fileobj=handle, mode="r|gz") as archive:
        first = archive.next()
        if first is None or first.name != VERSION_MEMBER:
            return None
        reader = archive.extractfile(first)
        return reader.read().decode() if reader is not None else None


def _extract(data: bytes, directory: Path) -> None:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        members = [m for m in archive.getmembers() if m.name != VERSION_MEMBER]
        archive.extractall(directory, members=members, filter="data")


# ---------------------------------------------------------------- the worker's entry


@dataclass
class CollectWorkingDirectory:
    """The last attempt of a WorkingDirectory, as a runnable task for `run_task`."""

    task: WorkingDirectory
    group_id: str
    directories: WorkingDirectories

    @property
    def id(self) -> str:
        return self.task.id

    @property
    def type(self) -> str:
        return self.task.type

    @property
    def log_level(self) -> str | None:
        return self.task.log_level


def _run_collect(task: CollectWorkingDirectory, ctx: RunContext) -> dict[str, Any]:
    return task.directories.collect(task.task, ctx, task.group_id)


def run_worker_task(task: Any, ctx: RunContext, *, task_run_id: str, attempt: int,
                    group: str | None, directories: WorkingDirectories) -> TaskOutcome:
    """Run one worker task as the worker and the in-process driver both do: a
    WorkingDirectory's last attempt collects its directory, a child of one runs in its
    group's directory, any other task as `run_task` runs it. Never raises."""
    if isinstance(task, WorkingDirectory):
        return run_task(CollectWorkingDirectory(task, task_run_id, directories), ctx)  # type: ignore[arg-type]
    working_group = WorkingGroup.from_json(group)
    if working_group is None:
        return run_task(task, ctx)
    try:
        return directories.run_child(working_group, ctx, f"{task_run_id}/{attempt}",
                                     lambda context: run_task(task, context))
    except Exception as error:  # noqa: BLE001 - the directory could not be prepared or kept
        message = f"Working directory of `{working_group.task_id}`: {error_message(error)}"
        return TaskOutcome(FAILED, {}, [*ctx.logs, LogLine("ERROR", message, ctx.clock())], [])


# ---------------------------------------------------------------- LocalFiles


def run_local_files(task: LocalFiles, ctx: RunContext) -> dict[str, Any]:
    """Write `inputs` into the working directory, upload the files `outputs` matches:
    outputs `uris` (name -> URI). Outside a WorkingDirectory it uses a directory of its own."""
    own = None if ctx.working_dir is not None else Path(tempfile.mkdtemp(prefix="ostinato-lf-"))
    directory = ctx.working_dir or own
    assert directory is not None
    try:
        if task.inputs is not None:
            files = _input_files(ctx.render(task.inputs))
            for name in files:
                relative_name(name, "input")
            write_input_files(files, directory, storage_reader(ctx.storage))
        uris: dict[str, str] = {}
        patterns = _patterns(ctx.render(task.outputs))
        if patterns:
            found = collect_output_files(patterns, directory, directory / ".no-output-dir")
            uris = upload_output_files(found, _storage(ctx), task_storage_prefix(ctx.variables, task.id))
        return {"uris": uris}
    finally:
        if own is not None:
            shutil.rmtree(own, ignore_errors=True)


register_runner(LocalFiles, run_local_files)
register_runner(CollectWorkingDirectory, _run_collect)  # type: ignore[arg-type]
