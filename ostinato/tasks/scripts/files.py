"""The files of one script run: its temporary directories, input files, output files.

Each attempt gets a fresh directory holding `work/` (the working directory, `{{ workingDir }}`)
and `outputs/` (`{{ outputDir }}`); it is removed when the attempt ends.
"""

from __future__ import annotations

import glob
import hashlib
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ostinato.storage import SCHEME, Storage, execution_prefix, namespace_files
from ostinato.tasks.base import TaskFailed

#: a `kestra:///...` URI inside a command or a script (Kestra's INTERNAL_STORAGE_PATTERN)
STORAGE_URI = re.compile(r"kestra://[-\w.+~#=/]*")
#: where files of internal storage used by the commands are copied, inside the working dir
LOCAL_COPIES_DIR = ".kestra-storage"


@dataclass
class Workspace:
    """The temporary directories of one attempt."""

    root: Path
    working_dir: Path
    output_dir: Path

    @classmethod
    def create(cls) -> Workspace:
        root = Path(tempfile.mkdtemp(prefix="ostinato-script-")).resolve()
        working_dir = root / "work"
        output_dir = root / "outputs"
        working_dir.mkdir()
        output_dir.mkdir()
        return cls(root, working_dir, output_dir)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def relative_name(name: str, what: str) -> PurePosixPath:
    """`name` as a path inside a directory; TaskFailed for an absolute path or a `..`."""
    path = PurePosixPath(name.replace("\\", "/"))
    if not name or path.is_absolute() or ".." in path.parts or not path.parts:
        raise TaskFailed(f"Invalid {what} (only relative path is supported) for path '{name}'")
    return path


def storage_reader(storage: Storage | None) -> Callable[[str], bytes]:
    """A function reading a `kestra:///` URI from `storage`, failing the task clearly."""

    def read(uri: str) -> bytes:
        if storage is None:
            raise TaskFailed(f"`{uri}` is used by the task but no internal storage is configured")
        try:
            return storage.get(uri)
        except (FileNotFoundError, ValueError) as exc:
            raise TaskFailed(f"Unable to read `{uri}` from internal storage: {exc}") from None

    return read


def write_input_files(
    files: Mapping[str, str], working_dir: Path, read: Callable[[str], bytes]
) -> None:
    """Write each `name -> content` into `working_dir`; a `kestra:///` content is fetched."""
    for name, content in files.items():
        target = working_dir.joinpath(*relative_name(name, "inputFile").parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        if _is_single_uri(content):
            target.write_bytes(read(content.strip()))
        elif content.startswith(("nsfile://", "file://")):
            raise TaskFailed(
                f"inputFiles `{name}`: only `kestra:///` URIs can be fetched here, not `{content}`"
            )
        else:
            target.write_text(content, encoding="utf-8")


def write_namespace_files(
    settings: Mapping[str, object], flow_namespace: str, storage: Storage | None, working_dir: Path
) -> int:
    """Copy the namespace files `settings` (a script's rendered `namespaceFiles`: `enabled`,
    `include`, `exclude`, `namespaces`, `folderPerNamespace`) select into `working_dir`;
    how many. The storage's scope decides which namespaces may be read (the flow's own)."""
    if str(settings.get("enabled", True)).strip().lower() == "false":
        return 0
    lister = getattr(storage, "files_under", None)
    if storage is None or lister is None:
        raise TaskFailed("namespaceFiles need an internal storage that lists folders, and "
                         "none is configured")
    namespaces = _names(settings.get("namespaces"), "namespaceFiles.namespaces") or [flow_namespace]
    per_namespace = str(settings.get("folderPerNamespace", False)).strip().lower() == "true"
    include = _names(settings.get("include"), "namespaceFiles.include")
    exclude = _names(settings.get("exclude"), "namespaceFiles.exclude")
    count = 0
    for namespace in namespaces:
        try:
            prefix = namespace_files.files_prefix(namespace)
            paths = namespace_files.selected(lister(prefix), include, exclude)
        except (PermissionError, ValueError) as error:
            raise TaskFailed(f"namespaceFiles of `{namespace}`: {error}") from None
        base = working_dir / namespace if per_namespace else working_dir
        for path in paths:
            target = base.joinpath(*relative_name(path, "namespace file").parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(storage.get(f"{prefix}/{path}"))
            count += 1
    return count


def _names(value: object, what: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise TaskFailed(f"`{what}` must be a list of strings")


def _is_single_uri(content: str) -> bool:
    text = content.strip()
    return text.startswith(SCHEME) and STORAGE_URI.fullmatch(text) is not None


def localize_storage_uris(text: str, working_dir: Path, read: Callable[[str], bytes]) -> str:
    """Replace each `kestra:///...` URI in `text` by the path of a local copy of its file.

    As in Kestra, a command such as `cat {{ outputs.download.uri }}` reads a local file.
    """

    def local_copy(match: re.Match[str]) -> str:
        uri = match.group(0)
        if uri.rstrip("/") == SCHEME.rstrip("/") or uri == SCHEME + "/":
            return uri  # the bare scheme, not a file
        digest = hashlib.sha1(uri.encode()).hexdigest()[:10]
        name = uri.rstrip("/").rsplit("/", 1)[-1] or "file"
        target = working_dir / LOCAL_COPIES_DIR / f"{digest}-{name}"
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(read(uri))
        return str(target)

    return STORAGE_URI.sub(local_copy, text)


def collect_output_files(
    patterns: list[str], working_dir: Path, output_dir: Path
) -> dict[str, Path]:
    """Files to upload, by name: everything in `output_dir`, then each glob's matches.

    Patterns are relative to `working_dir`; `**` spans directories; a hidden file matches
    only a pattern that names it. A name found twice keeps the working directory's file.
    """
    found: dict[str, Path] = {}
    for path in sorted(output_dir.rglob("*")):
        if path.is_file():
            found[path.relative_to(output_dir).as_posix()] = path
    root = working_dir.resolve()
    for pattern in patterns:
        relative_name(pattern, "outputFile")
        for match in sorted(glob.glob(pattern, root_dir=working_dir, recursive=True)):
            path = (working_dir / match).resolve()
            if not path.is_file() or root not in path.parents:
                continue
            name = path.relative_to(root).as_posix()
            if name.split("/", 1)[0] == LOCAL_COPIES_DIR:
                continue
            found[name] = path
    return found


def task_storage_prefix(variables: Mapping[str, object], task_id: str) -> str:
    """`<execution prefix>/tasks/<task id>/<task run id>`, where Kestra stores a task's files."""
    flow = variables.get("flow")
    execution = variables.get("execution")
    taskrun = variables.get("taskrun")
    if not (
        isinstance(flow, Mapping) and isinstance(execution, Mapping)
        and flow.get("namespace") and flow.get("id") and execution.get("id")
    ):
        raise TaskFailed("outputFiles need the `flow` and `execution` variables to be stored")
    prefix = execution_prefix(str(flow["namespace"]), str(flow["id"]), str(execution["id"]))
    run_id = taskrun.get("id") if isinstance(taskrun, Mapping) else None
    return f"{prefix}/tasks/{task_id}" + (f"/{run_id}" if run_id else "")


def upload_output_files(files: Mapping[str, Path], storage: Storage, prefix: str) -> dict[str, str]:
    """Store each file under `prefix/<name>`; name -> `kestra:///` URI."""
    return {name: storage.put(f"{prefix}/{name}", path.read_bytes()) for name, path in files.items()}
