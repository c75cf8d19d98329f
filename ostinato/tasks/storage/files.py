"""Runners of Kestra's `storage.*` tasks that handle whole files: Write, Concat, Split, Size,
Delete and PurgeCurrentExecutionFiles.

Every file goes through the storage the worker gives the task (`ctx.storage`: scoped to the
execution, ostinato/storage/scope.py), and new files are stored where Kestra stores a task's
files: `<execution folder>/tasks/<task id>/<task run id>/<name>`.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from ostinato.flow.tasks_storage import Concat, Delete, PurgeCurrentExecutionFiles, Size, Split, Write
from ostinato.storage import Storage, execution_prefix, uri_path
from ostinato.storage.scope import FileOutOfScope, ScopedStorage
from ostinato.tasks.base import RunContext, TaskFailed, register_runner, to_kestra_string
from ostinato.tasks.scripts.files import task_storage_prefix

#: Split reads and writes in chunks of this size
CHUNK = 1 << 20


def storage_of(ctx: RunContext) -> Storage:
    """The task's storage; TaskFailed when the worker has none."""
    if ctx.storage is None:
        raise TaskFailed("this task needs the internal storage, and none is configured")
    return ctx.storage


def store_new_file(ctx: RunContext, task_id: str, data: bytes, extension: str | None) -> str:
    """Store `data` as a new file of this task run; its `kestra:///` URI."""
    suffix = extension or ""
    if suffix and not suffix.startswith("."):
        suffix = "." + suffix
    name = f"{uuid.uuid4().hex[:16]}{suffix}"
    return storage_of(ctx).put(f"{task_storage_prefix(ctx.variables, task_id)}/{name}", data)


def read_file(ctx: RunContext, uri: str, what: str = "file") -> bytes:
    """The bytes at `uri`, failing the task with the URI named when it cannot be read."""
    try:
        return storage_of(ctx).get(uri)
    except FileNotFoundError:
        raise TaskFailed(f"The {what} `{uri}` does not exist in the internal storage") from None
    except (FileOutOfScope, ValueError) as error:
        raise TaskFailed(str(error)) from None


def run_write(task: Write, ctx: RunContext) -> dict[str, Any]:
    content = ctx.render(task.content)
    text = content if isinstance(content, str) else to_kestra_string(content)
    extension = ctx.render_str(task.extension)
    return {"uri": store_new_file(ctx, task.id, text.encode("utf-8"), extension)}


def _file_list(value: Any) -> list[str]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise TaskFailed(f"`files` must be a list of URIs or a JSON array, not `{value}`") from None
    if not isinstance(value, list):
        raise TaskFailed(f"`files` must be a list of URIs, not {type(value).__name__}")
    return [to_kestra_string(item) for item in value]


def run_concat(task: Concat, ctx: RunContext) -> dict[str, Any]:
    files = _file_list(ctx.render(task.files))
    separator = ctx.render_str(task.separator)
    parts: list[bytes] = []
    for uri in files:
        parts.append(read_file(ctx, ctx.render_str(uri) or ""))
        if separator is not None:
            parts.append(separator.encode("utf-8"))
    return {"uri": store_new_file(ctx, task.id, b"".join(parts), ctx.render_str(task.extension))}


def _positive(value: Any, name: str) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise TaskFailed(f"`{name}` must be a whole number, not `{value}`") from None
    if number < 1:
        raise TaskFailed(f"`{name}` must be at least 1, not {number}")
    return number


def parse_size(text: str) -> int:
    """A size such as `1048576`, `10KB`, `1MB` or `1GB` in bytes (Kestra's ReadableBytesTypeConverter)."""
    clean = text.strip().upper().replace(" ", "")
    for suffix, factor in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10), ("B", 1)):
        if clean.endswith(suffix):
            return _positive(clean[: -len(suffix)], "bytes") * factor
    return _positive(clean, "bytes")


def split_records(data: bytes, separator: bytes) -> list[bytes]:
    """The records of `data`, each with its separator (the last one may lack it)."""
    records = data.split(separator)
    out = [record + separator for record in records[:-1]]
    if records[-1]:
        out.append(records[-1])
    return out


def split_data(data: bytes, separator: bytes, *, size: int | None = None, rows: int | None = None,
               partitions: int | None = None) -> list[bytes]:
    """The parts of `data`: by `size` bytes (records kept whole; a part may exceed it by one
    record), by `rows` records, or into `partitions` parts of records dealt round-robin."""
    records = split_records(data, separator)
    if partitions is not None:
        buckets: list[list[bytes]] = [[] for _ in range(partitions)]
        for index, record in enumerate(records):
            buckets[index % partitions].append(record)
        return [b"".join(bucket) for bucket in buckets if bucket]
    parts: list[bytes] = []
    current: list[bytes] = []
    length = 0
    for record in records:
        current.append(record)
        length += len(record)
        if (rows is not None and len(current) >= rows) or (size is not None and length >= size):
            parts.append(b"".join(current))
            current, length = [], 0
    if current:
        parts.append(b"".join(current))
    return parts


def run_split(task: Split, ctx: RunContext) -> dict[str, Any]:
    source = ctx.render_str(task.from_) or ""
    data = read_file(ctx, source)
    separator = (ctx.render_str(task.separator) or "\n").encode("utf-8")
    rows = task.rows if task.rows is not None else task.lines
    parts = split_data(
        data, separator,
        size=parse_size(ctx.render_str(task.bytes) or "") if task.bytes is not None else None,
        rows=_positive(ctx.render(rows), "rows") if rows is not None else None,
        partitions=_positive(ctx.render(task.partitions), "partitions") if task.partitions is not None else None,
    )
    extension = Path(uri_path(source)).suffix
    return {"uris": [store_new_file(ctx, task.id, part, extension) for part in parts]}


def run_size(task: Size, ctx: RunContext) -> dict[str, Any]:
    uri = ctx.render_str(task.uri) or ""
    try:
        return {"size": storage_of(ctx).size(uri)}
    except FileNotFoundError:
        raise TaskFailed(f"The file `{uri}` does not exist in the internal storage") from None
    except (FileOutOfScope, ValueError) as error:
        raise TaskFailed(str(error)) from None


def _backend(ctx: RunContext, uri: str) -> tuple[Any, str]:
    """The storage to delete from and the path: a scoped storage lets a task delete only
    the files of its own namespace's executions (not namespace files, not other namespaces')."""
    storage = storage_of(ctx)
    path = uri_path(uri)
    if isinstance(storage, ScopedStorage):
        own = storage.scope.own
        if not storage.scope.allows(path) or path.startswith(own.namespace.replace(".", "/") + "/_files/"):
            raise TaskFailed(f"`{uri}` may not be deleted by this execution: a task deletes only "
                             f"files of its own namespace's executions")
        return storage.storage, path
    return storage, path


def delete_file(ctx: RunContext, uri: str) -> bool:
    """Delete the file at `uri`; whether there was one."""
    backend, path = _backend(ctx, uri)
    if not backend.exists(path):
        return False
    delete = getattr(backend, "delete", None)
    if delete is not None:
        return bool(delete(path))
    root = getattr(backend, "root", None)  # LocalStorage: one file is one path under root
    if root is None:
        raise TaskFailed("this internal storage cannot delete a single file")
    Path(root, path).unlink(missing_ok=True)
    return True


def run_delete(task: Delete, ctx: RunContext) -> dict[str, Any]:
    uri = ctx.render_str(task.uri) or ""
    try:
        deleted = delete_file(ctx, uri)
    except ValueError as error:
        raise TaskFailed(str(error)) from None
    if not deleted and str(ctx.render(task.error_on_missing)).lower() == "true":
        raise TaskFailed(f"Unable to find file '{uri}'")
    return {"uri": uri, "deleted": deleted}


def execution_files(storage: Any, prefix: str) -> list[str]:
    """The `kestra:///` URIs of the files under the storage folder `prefix` (none when the
    storage cannot list folders)."""
    lister = getattr(storage, "files_under", None)
    if lister is None:
        return []
    return [f"kestra:///{prefix}/{path}" for path in lister(prefix)
            if not path.rsplit("/", 1)[-1].startswith(".")]


def run_purge(task: PurgeCurrentExecutionFiles, ctx: RunContext) -> dict[str, Any]:
    storage = storage_of(ctx)
    backend = storage.storage if isinstance(storage, ScopedStorage) else storage
    flow, execution = ctx.variables.get("flow") or {}, ctx.variables.get("execution") or {}
    prefix = execution_prefix(str(flow.get("namespace")), str(flow.get("id")), str(execution.get("id")))
    uris = execution_files(backend, prefix)
    backend.delete_prefix(prefix)
    return {"uris": uris}


register_runner(Write, run_write)
register_runner(Concat, run_concat)
register_runner(Split, run_split)
register_runner(Size, run_size)
register_runner(Delete, run_delete)
register_runner(PurgeCurrentExecutionFiles, run_purge)
