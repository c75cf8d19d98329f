"""open_storage: which backend a location names, and the clear errors for bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from ostinato.storage import BadStorageLocation, LocalStorage, open_storage
from ostinato.storage.locations import s3_bucket_and_prefix
from ostinato.storage.object_store import ObjectStorage
from tests.storage.conftest import S3Server


def test_paths_and_file_uris_are_local(tmp_path: Path) -> None:
    for location in (tmp_path / "a", str(tmp_path / "b"), f"file://{tmp_path}/c",
                     f"file://localhost{tmp_path}/d"):
        storage = open_storage(location)
        assert isinstance(storage, LocalStorage)
    assert open_storage(f"file://{tmp_path}/c%20d").root == tmp_path / "c d"  # type: ignore[attr-defined]


def test_s3_uris_split_into_bucket_and_prefix() -> None:
    assert s3_bucket_and_prefix("s3://bucket") == ("bucket", "")
    assert s3_bucket_and_prefix("s3://bucket/") == ("bucket", "")
    assert s3_bucket_and_prefix("s3://bucket/a//b/") == ("bucket", "a/b")


@pytest.mark.parametrize("location, message", [
    ("", "empty"),
    ("   ", "empty"),
    ("s3://", "names no bucket"),
    ("s3:///prefix", "names no bucket"),
    ("s3://user@bucket/p", "names no bucket"),
    ("s3://bucket/a/../b", "`.` or `..`"),
    ("s3://bucket/p?endpoint=x", "no `\\?` or `#`"),
    ("gs://bucket/p", "gs:// storage is not supported yet"),
    ("az://account/container", "az:// storage is not supported yet"),
    ("ftp://host/dir", "unknown internal storage scheme `ftp://`"),
    ("file://otherhost/dir", "not a file URI"),
    ("file://", "not a file URI"),
])
def test_bad_locations_say_what_is_wrong(location: str, message: str) -> None:
    with pytest.raises(BadStorageLocation, match=message):
        open_storage(location)


def test_the_standard_aws_endpoint_variable_is_used(s3_server: S3Server,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Without OSTINATO_S3_ENDPOINT, AWS_ENDPOINT_URL (what the AWS tools read) names the
    server; an http:// endpoint is allowed because it says so."""
    monkeypatch.delenv("OSTINATO_S3_ENDPOINT", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    for name, value in {**s3_server.env(), "AWS_ENDPOINT_URL": s3_server.endpoint}.items():
        if name != "OSTINATO_S3_ENDPOINT":
            monkeypatch.setenv(name, value)
    storage = open_storage(f"s3://{s3_server.bucket}/std-endpoint")
    assert isinstance(storage, ObjectStorage)
    storage.put("a.txt", b"via AWS_ENDPOINT_URL")
    assert "std-endpoint/a.txt" in s3_server.keys()


def test_ostinato_endpoint_wins_over_the_aws_ones(s3_server: S3Server,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")  # nothing listens there
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1")
    storage = open_storage(f"s3://{s3_server.bucket}/ours-wins")
    storage.put("a.txt", b"x")
    assert storage.get("a.txt") == b"x"


def test_a_missing_bucket_is_an_error_naming_it(s3_server: S3Server,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    storage = open_storage("s3://no-such-bucket/p")
    with pytest.raises(Exception, match="no-such-bucket|NoSuchBucket"):
        storage.put("a.txt", b"x")


def test_a_service_refuses_a_bad_storage_before_it_starts() -> None:
    """`ostinato worker --storage gs://...` stops at once (exit 2) naming the option and
    what is wrong, before it reaches Kafka (nothing listens on the bootstrap port here)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "OSTINATO_BOOTSTRAP_SERVERS": "127.0.0.1:1", "OSTINATO_STORAGE": "s3:///x"}
    done = subprocess.run([sys.executable, "-m", "ostinato", "worker", "--management-port", "0"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "Invalid value for --storage: `s3:///x` names no bucket" in done.stderr
