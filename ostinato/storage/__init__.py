"""Internal storage: the files behind Kestra's `kestra:///...` URIs.

`Storage` is the small interface a worker and the executor use; `LocalStorage` keeps the
files under a directory. An object-store backend only needs the same four methods.
"""

from ostinato.storage.base import (
    SCHEME,
    Storage,
    execution_prefix,
    input_file_uri_path,
    to_uri,
    uri_path,
)
from ostinato.storage.local import LocalStorage

__all__ = [
    "SCHEME",
    "LocalStorage",
    "Storage",
    "execution_prefix",
    "input_file_uri_path",
    "to_uri",
    "uri_path",
]
