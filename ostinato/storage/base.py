"""The storage interface and the path layout Kestra uses for execution files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO, Protocol, runtime_checkable

#: the prefix of every internal-storage URI (`kestra:///io/kestra/tests/...`)
SCHEME = "kestra://"


@dataclass(frozen=True)
class FileStat:
    """A file or folder of internal storage (Kestra's `FileAttributes`)."""

    name: str
    is_dir: bool
    size: int
    #: seconds since the epoch
    modified: float
    created: float


@runtime_checkable
class Storage(Protocol):
    """Internal storage. URIs are `kestra:///<path>`; a bare `<path>` is accepted too."""

    def put(self, uri_path: str, data: bytes) -> str:
        """Store `data` at `uri_path` (replacing any file there); return its `kestra:///` URI."""
        ...

    def get(self, uri: str) -> bytes:
        """The bytes stored at `uri`; FileNotFoundError naming the URI if there are none."""
        ...

    def open(self, uri: str) -> BinaryIO:
        """The file at `uri` opened for reading in binary (for large files: read in chunks);
        FileNotFoundError naming the URI if there is none."""
        ...

    def exists(self, uri: str) -> bool:
        """Whether a file is stored at `uri`."""
        ...

    def size(self, uri: str) -> int:
        """The size in bytes of the file at `uri`; FileNotFoundError if missing."""
        ...

    def delete_prefix(self, uri: str) -> int:
        """Delete every file under the folder `uri` (an execution's, say); how many were."""
        ...


@runtime_checkable
class FolderStorage(Storage, Protocol):
    """A `Storage` that also lists and manages folders: what the API's namespace files use.
    Both backends (`LocalStorage`, `ObjectStorage`) are one."""

    def files_under(self, uri: str) -> list[str]:
        """The paths, relative to the folder `uri`, of every file under it (sorted; none
        when it is not a folder)."""
        ...

    def stat(self, uri: str) -> FileStat | None:
        """What is at `uri` (file or folder), None when nothing is."""
        ...

    def entries(self, uri: str) -> list[FileStat] | None:
        """The files and folders directly in the folder `uri`; None when it is not one."""
        ...

    def make_dir(self, uri: str) -> None:
        """Create the folder `uri`; nothing when it exists."""
        ...

    def delete(self, uri: str) -> bool:
        """Delete the file or folder at `uri`; whether there was one."""
        ...

    def move(self, source: str, target: str) -> None:
        """Move the file or folder `source` to `target`; FileNotFoundError when `source` is
        missing, FileExistsError when `target` exists."""
        ...


def uri_path(uri: str) -> str:
    """The normalised path of `uri` (`kestra:///a/b` or `/a/b` or `a/b` -> `a/b`).

    Raises ValueError for another scheme, an empty path, or any `..` / `.` segment, so
    no backend can be made to reach outside its root.
    """
    if not isinstance(uri, str):
        raise ValueError(f"a storage URI must be a string, not {type(uri).__name__}")
    path = uri
    if path.startswith(SCHEME):
        path = path[len(SCHEME):]
    elif "://" in path:
        raise ValueError(f"`{uri}` is not an internal storage URI (kestra:///...)")
    path = path.replace("\\", "/")
    segments = [s for s in path.split("/") if s != ""]
    if not segments:
        raise ValueError(f"`{uri}` has an empty storage path")
    for segment in segments:
        if segment in ("..", ".") or "\x00" in segment:
            raise ValueError(f"`{uri}` escapes the internal storage (`{segment}` segment)")
    return "/".join(segments)


def to_uri(path: str) -> str:
    """The `kestra:///` URI of a storage path."""
    return f"{SCHEME}/{uri_path(path)}"


def execution_prefix(namespace: str, flow_id: str, execution_id: str) -> str:
    """Where Kestra keeps an execution's files: `<namespace as dirs>/<flow>/executions/<id>`."""
    return f"{namespace.replace('.', '/')}/{flow_id}/executions/{execution_id}"


def input_file_uri_path(
    namespace: str, flow_id: str, execution_id: str, input_id: str, filename: str
) -> str:
    """The storage path of a FILE input: `<execution prefix>/inputs/<input id>/<filename>`."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    if name in ("", ".", ".."):
        raise ValueError(f"`{filename}` is not a usable file name")
    return f"{execution_prefix(namespace, flow_id, execution_id)}/inputs/{input_id}/{name}"
