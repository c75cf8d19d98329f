"""Where internal storage is: a local directory (the default) or an object store, by URI.

- a path, or `file:///path`: `LocalStorage` (a directory; shared by the worker and the API,
  so on Kubernetes a ReadWriteMany volume);
- `s3://bucket/prefix`: `ObjectStorage` on S3 or any S3-compatible server (MinIO, Ceph ...).
  The endpoint is OSTINATO_S3_ENDPOINT, else the standard AWS_ENDPOINT_URL_S3 /
  AWS_ENDPOINT_URL; the region OSTINATO_S3_REGION, else AWS_REGION / AWS_DEFAULT_REGION;
  credentials come the standard AWS ways (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY,
  AWS_SESSION_TOKEN, IRSA's AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE, ECS/instance
  metadata), read by obstore.

GCS (`gs://`) and Azure Blob (`az://`) would be one more branch each here, building
obstore's GCSStore or AzureStore from their standard variables; they are refused until
they are tested.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from ostinato.storage.base import FolderStorage
from ostinato.storage.local import LocalStorage

if TYPE_CHECKING:
    from obstore.store import ClientConfig, S3Config, S3Store

#: what a storage location may be, in messages
FORMS = "a directory, file:///directory or s3://bucket/prefix"
_NOT_YET = {"gs", "gcs", "az", "azure", "abfs", "abfss", "adl"}


class BadStorageLocation(ValueError):
    """A storage location that names no usable storage; the message says why."""


def check_location(location: str | Path) -> None:
    """BadStorageLocation when `location` names no storage `open_storage` can open; a
    cheap check (no network) for a command to make before it starts anything."""
    if isinstance(location, Path):
        return
    text = location.strip()
    scheme, separator, _ = text.partition("://")
    if text and separator and scheme.lower() == "s3":
        s3_bucket_and_prefix(text)
    elif text and separator and scheme.lower() == "file":
        _file_path(text)
    elif not text or separator:
        open_storage(text)  # raises: empty, or a scheme it does not know


def open_storage(location: str | Path) -> FolderStorage:
    """The internal storage at `location` (a directory or a URI, see the module doc)."""
    if isinstance(location, Path):
        return LocalStorage(location)
    text = location.strip()
    if not text:
        raise BadStorageLocation(f"the internal storage location is empty: give {FORMS}")
    scheme, separator, _ = text.partition("://")
    if not separator:
        return LocalStorage(text)
    scheme = scheme.lower()
    if scheme == "file":
        return LocalStorage(_file_path(text))
    if scheme == "s3":
        from ostinato.storage.object_store import ObjectStorage

        return ObjectStorage(s3_store(text), text)
    if scheme in _NOT_YET:
        raise BadStorageLocation(f"`{location}`: {scheme}:// storage is not supported yet "
                                 f"(obstore has the store; see README's Internal storage): give {FORMS}")
    raise BadStorageLocation(f"`{location}`: unknown internal storage scheme `{scheme}://`: give {FORMS}")


def _file_path(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.netloc not in ("", "localhost") or parts.query or parts.fragment or not parts.path:
        raise BadStorageLocation(f"`{uri}` is not a file URI of a directory (file:///path/to/dir)")
    return unquote(parts.path)


def s3_bucket_and_prefix(uri: str) -> tuple[str, str]:
    """(bucket, key prefix) of `s3://bucket/prefix`; BadStorageLocation naming what is wrong."""
    parts = urlsplit(uri)
    if parts.query or parts.fragment:
        raise BadStorageLocation(f"`{uri}`: an s3:// location takes no `?` or `#` part "
                                 "(settings come from the environment)")
    bucket = parts.netloc
    if not bucket or "@" in bucket or ":" in bucket:
        raise BadStorageLocation(f"`{uri}` names no bucket: give s3://bucket or s3://bucket/prefix")
    segments = [s for s in unquote(parts.path).split("/") if s]
    if any(s in (".", "..") for s in segments):
        raise BadStorageLocation(f"`{uri}`: the prefix may not hold `.` or `..` segments")
    return bucket, "/".join(segments)


def s3_store(uri: str) -> S3Store:
    """obstore's S3Store for `s3://bucket/prefix`, configured from the environment (obstore
    reads the AWS_ variables itself; see the module doc)."""
    from obstore.store import S3Store

    env = os.environ
    bucket, prefix = s3_bucket_and_prefix(uri)
    config: S3Config = {}
    endpoint = env.get("OSTINATO_S3_ENDPOINT")
    if endpoint:  # ours wins over AWS_ENDPOINT_URL_S3, which obstore puts before `endpoint`
        config["endpoint"] = config["aws_endpoint_url_s3"] = endpoint
    else:
        endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or env.get("AWS_ENDPOINT")
    if env.get("OSTINATO_S3_REGION"):
        config["region"] = env["OSTINATO_S3_REGION"]
    # plain HTTP only for an endpoint that says so (MinIO or moto on a private network)
    client: ClientConfig = {}
    if endpoint and endpoint.lower().startswith("http://"):
        client["allow_http"] = True
    try:
        return S3Store(bucket, prefix=prefix or None, config=config, client_options=client)
    except Exception as error:  # obstore's configuration errors (a bad endpoint URL ...)
        raise BadStorageLocation(f"`{uri}`: cannot configure the S3 store: {error}") from None
