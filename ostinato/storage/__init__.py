"""Internal storage: the files behind Kestra's `kestra:///...` URIs.

`Storage` is the small interface a worker and the executor use; `FolderStorage` adds the
folder operations of the API's namespace files. Two backends: `LocalStorage` keeps the
files under a directory, `ObjectStorage` (ostinato/storage/object_store.py) in an S3 bucket.
`open_storage(location)` picks one from a path or a URI (`s3://bucket/prefix`).
"""

from ostinato.storage.base import (
    SCHEME,
    FolderStorage,
    Storage,
    execution_prefix,
    input_file_uri_path,
    to_uri,
    uri_path,
)
from ostinato.storage.local import LocalStorage
from ostinato.storage.locations import BadStorageLocation, open_storage

__all__ = [
    "SCHEME",
    "BadStorageLocation",
    "FolderStorage",
    "LocalStorage",
    "Storage",
    "execution_prefix",
    "input_file_uri_path",
    "open_storage",
    "to_uri",
    "uri_path",
]
