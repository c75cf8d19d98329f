"""Internal storage on the local file system (one directory per storage root)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from ostinato.storage.base import FileStat, to_uri, uri_path


class LocalStorage:
    """Files under `root`; `kestra:///a/b.txt` is `root/a/b.txt`."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, uri: str) -> Path:
        path = (self.root / uri_path(uri)).resolve()
        # uri_path refuses `..`; this also catches a symlink inside root pointing out of it.
        if path != self.root and self.root not in path.parents:
            raise ValueError(f"`{uri}` escapes the internal storage")
        return path

    def put(self, uri_path: str, data: bytes) -> str:
        path = self._path(uri_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a reader never sees a half-written file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return to_uri(uri_path)

    def get(self, uri: str) -> bytes:
        path = self._path(uri)
        if not path.is_file():
            raise FileNotFoundError(f"no file in internal storage at `{uri}`")
        return path.read_bytes()

    def open(self, uri: str) -> BinaryIO:
        path = self._path(uri)
        if not path.is_file():
            raise FileNotFoundError(f"no file in internal storage at `{uri}`")
        return path.open("rb")

    def exists(self, uri: str) -> bool:
        return self._path(uri).is_file()

    def size(self, uri: str) -> int:
        path = self._path(uri)
        if not path.is_file():
            raise FileNotFoundError(f"no file in internal storage at `{uri}`")
        return path.stat().st_size

    def delete_prefix(self, uri: str) -> int:
        path = self._path(uri)
        if path == self.root:
            raise ValueError("refusing to delete the whole internal storage")
        if not path.is_dir():
            return 0
        count = sum(1 for item in path.rglob("*") if item.is_file())
        shutil.rmtree(path)
        return count

    # ---------------------------------------------------------------- folders (namespace files)

    def files_under(self, uri: str) -> list[str]:
        """The paths, relative to the folder `uri`, of every file under it (sorted; none
        when it is not a folder). Temporary files of a write in progress are left out."""
        path = self._path(uri)
        if not path.is_dir():
            return []
        return sorted(item.relative_to(path).as_posix() for item in path.rglob("*")
                      if item.is_file() and not _in_progress(item))

    def stat(self, uri: str) -> FileStat | None:
        """What is at `uri` (file or folder), None when nothing is."""
        path = self._path(uri)
        return _stat_of(path) if path.exists() else None

    def entries(self, uri: str) -> list[FileStat] | None:
        """The files and folders directly in the folder `uri` (by name); None when `uri`
        is not a folder."""
        path = self._path(uri)
        if not path.is_dir():
            return None
        return [_stat_of(item) for item in sorted(path.iterdir()) if not _in_progress(item)]

    def make_dir(self, uri: str) -> None:
        """Create the folder `uri` (and its parents); nothing when it exists."""
        self._path(uri).mkdir(parents=True, exist_ok=True)

    def delete(self, uri: str) -> bool:
        """Delete the file or folder at `uri`; whether there was one."""
        path = self._path(uri)
        if path == self.root:
            raise ValueError("refusing to delete the whole internal storage")
        if path.is_dir():
            shutil.rmtree(path)
            return True
        if path.is_file():
            path.unlink()
            return True
        return False

    def move(self, source: str, target: str) -> None:
        """Move the file or folder `source` to `target` (its parents created);
        FileNotFoundError when `source` is missing, FileExistsError when `target` exists."""
        origin, destination = self._path(source), self._path(target)
        if not origin.exists():
            raise FileNotFoundError(f"no file or folder in internal storage at `{source}`")
        if destination.exists():
            raise FileExistsError(f"`{target}` already exists")
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(origin, destination)


def _in_progress(path: Path) -> bool:
    return path.name.startswith(".") and path.name.endswith(".tmp")


def _stat_of(path: Path) -> FileStat:
    info = path.stat()
    return FileStat(name=path.name, is_dir=path.is_dir(), size=0 if path.is_dir() else info.st_size,
                    modified=info.st_mtime, created=getattr(info, "st_birthtime", info.st_ctime))
