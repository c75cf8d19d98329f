"""Internal storage in an object store (S3 and S3-compatible servers: MinIO, Ceph, moto ...).

Built on `obstore`, the Python binding of Rust's `object_store` crate: one small API over
S3, GCS and Azure Blob (no boto3, no aiobotocore), with retries, multipart uploads and
ranged reads built in. `ObjectStorage` takes any obstore store, so another cloud is only a
matter of building that store (`ostinato/storage/locations.py`).

An object store has no folders, only keys: a folder exists when a key is under it. An empty
folder (Kestra's "create directory" for namespace files) is kept as a hidden marker object
`<folder>/.ostinato-folder`, which listings leave out.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO

import obstore

from ostinato.storage.base import FileStat, to_uri, uri_path

if TYPE_CHECKING:
    from obstore import ReadableFile
    from obstore.store import ObjectStore

#: the object that keeps an empty folder (object stores drop a key's trailing `/`)
FOLDER_MARKER = ".ostinato-folder"
#: bytes fetched per ranged GET when a file is read as a stream
READ_BUFFER = 4 << 20


class ObjectStorage:
    """Files as objects: `kestra:///a/b.txt` is the key `<prefix>/a/b.txt` of the store
    (the prefix is part of the obstore store). `location` names it in messages."""

    def __init__(self, store: ObjectStore, location: str) -> None:
        self.store = store
        self.location = location

    def __repr__(self) -> str:
        return f"ObjectStorage({self.location})"

    def _key(self, uri: str) -> str:
        key = uri_path(uri)  # refuses `..`, `.`, NUL and other schemes: no key leaves the prefix
        if key.rsplit("/", 1)[-1] == FOLDER_MARKER:
            raise ValueError(f"`{uri}`: `{FOLDER_MARKER}` is a name internal storage keeps for itself")
        return key

    # ---------------------------------------------------------------- the Storage protocol

    def put(self, uri_path: str, data: bytes) -> str:
        # one PUT (a multipart upload above 5 MiB): readers see the old or the new object
        obstore.put(self.store, self._key(uri_path), data)
        return to_uri(uri_path)

    def get(self, uri: str) -> bytes:
        try:
            return obstore.get(self.store, self._key(uri)).bytes().to_bytes()
        except FileNotFoundError:
            raise _missing(uri) from None

    def open(self, uri: str) -> BinaryIO:
        """A buffered reader fetching the object by ranges of READ_BUFFER bytes (a large file
        is never held whole, and each request is short enough for the client's timeout)."""
        try:
            reader = obstore.open_reader(self.store, self._key(uri), buffer_size=READ_BUFFER)
        except FileNotFoundError:
            raise _missing(uri) from None
        return io.BufferedReader(_RawReader(reader), buffer_size=1 << 16)

    def exists(self, uri: str) -> bool:
        return self._head(uri) is not None

    def size(self, uri: str) -> int:
        meta = self._head(uri)
        if meta is None:
            raise _missing(uri)
        return int(meta["size"])

    def delete_prefix(self, uri: str) -> int:
        keys = self._keys_under(self._key(uri))
        if keys:
            obstore.delete(self.store, keys)  # bulk DeleteObjects, 1000 keys a request
        return sum(1 for key in keys if not _is_marker(key))

    # ---------------------------------------------------------------- folders (namespace files)

    def files_under(self, uri: str) -> list[str]:
        """The paths, relative to the folder `uri`, of every file under it (sorted)."""
        folder = self._key(uri)
        return sorted(key[len(folder) + 1:] for key in self._keys_under(folder) if not _is_marker(key))

    def stat(self, uri: str) -> FileStat | None:
        """What is at `uri` (file or folder), None when nothing is."""
        key = self._key(uri)
        meta = self._head(uri)
        if meta is not None:
            return _file_stat(meta)
        listing = obstore.list_with_delimiter(self.store, key)
        objects, folders = listing["objects"], listing["common_prefixes"]
        if not objects and not folders:
            return None
        times = [_seconds(item["last_modified"]) for item in objects]
        modified = max(times, default=0.0)
        return FileStat(name=key.rsplit("/", 1)[-1], is_dir=True, size=0, modified=modified,
                        created=min(times, default=modified))

    def entries(self, uri: str) -> list[FileStat] | None:
        """The files and folders directly in the folder `uri` (by name); None when `uri`
        is not a folder."""
        listing = obstore.list_with_delimiter(self.store, self._key(uri))
        objects, folders = listing["objects"], listing["common_prefixes"]
        if not objects and not folders:
            return None
        found = [_file_stat(item) for item in objects if not _is_marker(item["path"])]
        found += [FileStat(name=prefix.rstrip("/").rsplit("/", 1)[-1], is_dir=True, size=0,
                           modified=0.0, created=0.0) for prefix in folders]
        return sorted(found, key=lambda stat: stat.name)

    def make_dir(self, uri: str) -> None:
        """Create the folder `uri` (its marker); nothing when it exists. FileExistsError when
        a file is there."""
        key = self._key(uri)
        if self._head(uri) is not None:
            raise FileExistsError(f"`{uri}` is a file of internal storage, not a folder")
        if self.entries(uri) is None:
            obstore.put(self.store, f"{key}/{FOLDER_MARKER}", b"")

    def delete(self, uri: str) -> bool:
        """Delete the file or folder at `uri`; whether there was one."""
        key = self._key(uri)
        if self._head(uri) is not None:
            obstore.delete(self.store, key)
            return True
        keys = self._keys_under(key)
        if keys:
            obstore.delete(self.store, keys)
        return bool(keys)

    def move(self, source: str, target: str) -> None:
        """Move the file or folder `source` to `target` (copy then delete: object stores
        have no rename); FileNotFoundError when `source` is missing, FileExistsError when
        `target` exists. Not atomic: a crash midway leaves some objects copied."""
        origin, destination = self._key(source), self._key(target)
        if self.stat(target) is not None:
            raise FileExistsError(f"`{target}` already exists")
        if self._head(source) is not None:
            obstore.rename(self.store, origin, destination)
            return
        keys = self._keys_under(origin)
        if not keys:
            raise FileNotFoundError(f"no file or folder in internal storage at `{source}`")
        for key in keys:
            obstore.rename(self.store, key, destination + key[len(origin):])

    # ---------------------------------------------------------------- helpers

    def _head(self, uri: str) -> dict[str, Any] | None:
        try:
            return dict(obstore.head(self.store, self._key(uri)))
        except FileNotFoundError:
            return None

    def _keys_under(self, folder: str) -> list[str]:
        # the prefix is matched by whole segments: `a/b` lists `a/b/...`, never `a/bc`
        return [item["path"] for batch in obstore.list(self.store, folder, chunk_size=1000)
                for item in batch]


class _RawReader(io.RawIOBase):
    """obstore's ReadableFile as a raw stream, so that callers get a real `io` reader."""

    def __init__(self, reader: ReadableFile) -> None:
        self._reader = reader

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        chunk = memoryview(self._reader.read(len(view)))
        view[:len(chunk)] = chunk
        return len(chunk)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._reader.seek(offset, whence)

    def tell(self) -> int:
        return self._reader.tell()

    def close(self) -> None:
        if not self.closed:
            self._reader.close()
        super().close()


def _missing(uri: str) -> FileNotFoundError:
    return FileNotFoundError(f"no file in internal storage at `{uri}`")


def _is_marker(key: str) -> bool:
    return key.rsplit("/", 1)[-1] == FOLDER_MARKER


def _seconds(moment: datetime) -> float:
    return moment.timestamp()


def _file_stat(meta: Any) -> FileStat:
    modified = _seconds(meta["last_modified"])
    # an object has one time: S3 keeps no creation time apart from the last write
    return FileStat(name=str(meta["path"]).rsplit("/", 1)[-1], is_dir=False, size=int(meta["size"]),
                    modified=modified, created=modified)
