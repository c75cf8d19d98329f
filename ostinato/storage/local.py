"""Internal storage on the local file system (one directory per storage root)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from ostinato.storage.base import to_uri, uri_path


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
