"""The same contract over both internal-storage backends: the local directory and S3 (a
real S3 API server, moto, on this machine; tests/storage/conftest.py). Every method the
worker, the executor and the API's namespace files use behaves the same on both."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ostinato.storage import FolderStorage, LocalStorage, Storage, open_storage
from ostinato.storage.object_store import FOLDER_MARKER, ObjectStorage
from ostinato.storage.scope import FileOutOfScope, ScopedStorage, scope_of
from tests.storage.conftest import S3Server

EXECUTION = "ns/flow/executions/one"


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FolderStorage]:
    if request.param == "local":
        yield open_storage(str(tmp_path / "root"))
        return
    server: S3Server = request.getfixturevalue("s3_env")
    # a prefix of its own per test: the tests share the module's server and bucket
    yield open_storage(f"s3://{server.bucket}/t-{uuid.uuid4().hex[:12]}")


def test_both_backends_are_folder_storages(storage: FolderStorage) -> None:
    assert isinstance(storage, Storage) and isinstance(storage, FolderStorage)


def test_put_get_exists_size_open(storage: FolderStorage) -> None:
    uri = storage.put(f"{EXECUTION}/a.txt", b"hello")
    assert uri == f"kestra:///{EXECUTION}/a.txt"
    assert storage.get(uri) == b"hello"
    assert storage.get(f"/{EXECUTION}/a.txt") == b"hello"  # a bare path names the same file
    assert storage.exists(uri) and storage.size(uri) == 5
    with storage.open(uri) as handle:
        assert handle.read(2) == b"he" and handle.read() == b"llo"


def test_overwrite_and_empty_file(storage: FolderStorage) -> None:
    uri = storage.put("kestra:///x/y.bin", b"\x00\x01")
    storage.put("x/y.bin", b"longer content")
    assert storage.get(uri) == b"longer content" and storage.size(uri) == 14
    empty = storage.put("x/empty", b"")
    assert storage.exists(empty) and storage.size(empty) == 0 and storage.get(empty) == b""
    with storage.open(empty) as handle:
        assert handle.read() == b""
    assert storage.files_under("x") == ["empty", "y.bin"]


def test_a_large_file_streams_in_chunks(storage: FolderStorage) -> None:
    """6 MiB: above S3's multipart threshold (5 MiB) and the reader's 4 MiB ranges."""
    data = bytes(range(256)) * (6 * 4096)
    uri = storage.put(f"{EXECUTION}/big.bin", data)
    assert storage.size(uri) == len(data)
    received = bytearray()
    with storage.open(uri) as handle:
        while chunk := handle.read(1 << 16):
            assert len(chunk) <= 1 << 16
            received += chunk
    assert bytes(received) == data


def test_missing_files_name_the_uri(storage: FolderStorage) -> None:
    uri = "kestra:///nope/missing.txt"
    assert not storage.exists(uri)
    for read in (storage.get, storage.open, storage.size):
        with pytest.raises(FileNotFoundError, match="kestra:///nope/missing.txt"):
            read(uri)
    storage.put("dir/file", b"x")
    assert not storage.exists("kestra:///dir")  # a folder is not a file
    with pytest.raises(FileNotFoundError):
        storage.get("kestra:///dir")


@pytest.mark.parametrize("bad", ["../outside", "kestra:///../outside", "a/../../outside", "a/./b",
                                 "kestra:///", "", "s3://bucket/key", "a/..\\..\\outside", "a/\x00b"])
def test_escapes_and_bad_uris_are_refused(storage: FolderStorage, bad: str) -> None:
    for call in (lambda: storage.put(bad, b"x"), lambda: storage.get(bad),
                 lambda: storage.open(bad), lambda: storage.exists(bad),
                 lambda: storage.size(bad), lambda: storage.delete_prefix(bad),
                 lambda: storage.delete(bad), lambda: storage.files_under(bad)):
        with pytest.raises(ValueError):
            call()


def test_names_with_spaces_and_symbols_round_trip(storage: FolderStorage) -> None:
    names = ["a b.txt", "x#y%z.txt", "ü €.csv", "q?=&+.txt"]
    for name in names:
        storage.put(f"files/{name}", name.encode())
    assert storage.files_under("files") == sorted(names)
    assert all(storage.get(f"files/{name}") == name.encode() for name in names)


def test_delete_prefix_removes_one_folder_and_counts_its_files(storage: FolderStorage) -> None:
    storage.put(f"{EXECUTION}/inputs/a/x.txt", b"x")
    storage.put(f"{EXECUTION}/outputs/y.txt", b"y")
    storage.put("ns/flow/executions/one-more/z.txt", b"z")  # a sibling sharing the name's start
    storage.put("ns/flow/executions/two/z.txt", b"z")
    assert storage.delete_prefix(f"kestra:///{EXECUTION}") == 2
    assert not storage.exists(f"{EXECUTION}/outputs/y.txt")
    assert storage.files_under("ns/flow/executions") == ["one-more/z.txt", "two/z.txt"]
    assert storage.delete_prefix(EXECUTION) == 0


def test_folders_list_stat_and_delete(storage: FolderStorage) -> None:
    storage.put("ns/_files/a/b.txt", b"hello")
    storage.put("ns/_files/top.txt", b"top")
    storage.make_dir("ns/_files/empty")
    storage.make_dir("ns/_files/empty")  # nothing when it exists
    assert storage.files_under("ns/_files") == ["a/b.txt", "top.txt"]
    entries = storage.entries("ns/_files") or []
    assert [(e.name, e.is_dir, e.size) for e in entries] == [
        ("a", True, 0), ("empty", True, 0), ("top.txt", False, 3)]
    assert storage.entries("ns/_files/empty") == []
    assert storage.entries("ns/_files/top.txt") is None and storage.entries("ns/none") is None
    file_stat, folder_stat = storage.stat("ns/_files/a/b.txt"), storage.stat("ns/_files/empty")
    assert file_stat is not None and (file_stat.name, file_stat.is_dir, file_stat.size) == ("b.txt", False, 5)
    assert file_stat.modified > 0
    assert folder_stat is not None and (folder_stat.name, folder_stat.is_dir) == ("empty", True)
    assert storage.stat("ns/_files/none") is None
    with pytest.raises(FileExistsError):
        storage.make_dir("ns/_files/top.txt")
    assert storage.delete("ns/_files/a") and storage.delete("ns/_files/top.txt")
    assert storage.delete("ns/_files/empty")
    assert not storage.delete("ns/_files/a")
    assert storage.entries("ns/_files") in ([], None)  # local keeps the folder, S3 has no folders
    assert storage.files_under("ns") == []


def test_move_files_and_folders(storage: FolderStorage) -> None:
    storage.put("ns/_files/src/a.txt", b"a")
    storage.put("ns/_files/src/deep/b.txt", b"b")
    storage.put("ns/_files/one.txt", b"1")
    storage.move("ns/_files/one.txt", "ns/_files/moved/one.txt")
    assert storage.get("ns/_files/moved/one.txt") == b"1" and not storage.exists("ns/_files/one.txt")
    storage.move("ns/_files/src", "ns/_files/dst")
    assert storage.files_under("ns/_files/dst") == ["a.txt", "deep/b.txt"]
    assert storage.files_under("ns/_files/src") == []
    with pytest.raises(FileExistsError):
        storage.move("ns/_files/dst", "ns/_files/moved")
    with pytest.raises(FileNotFoundError):
        storage.move("ns/_files/none", "ns/_files/other")


def test_scoped_storage_keeps_its_rule_on_both(storage: FolderStorage) -> None:
    storage.put("other/flow/executions/x/secret.txt", b"s")
    scoped = ScopedStorage(storage, scope_of("ns", "flow", "one", None))
    written = scoped.put(f"{EXECUTION}/out.txt", b"mine")
    assert scoped.get(written) == b"mine"
    with pytest.raises(FileOutOfScope):
        scoped.get("kestra:///other/flow/executions/x/secret.txt")
    with pytest.raises(FileOutOfScope):
        scoped.put("other/flow/executions/x/evil.txt", b"e")


def test_s3_keys_stay_under_the_prefix(s3_env: S3Server) -> None:
    prefix = f"iso-{uuid.uuid4().hex[:8]}"
    first = open_storage(f"s3://{s3_env.bucket}/{prefix}/a")
    second = open_storage(f"s3://{s3_env.bucket}/{prefix}/b")
    assert isinstance(first, ObjectStorage)
    first.put("ns/f.txt", b"1")
    first.make_dir("ns/empty")
    assert not second.exists("ns/f.txt") and second.files_under("ns") == []
    keys = [key for key in s3_env.keys() if key.startswith(prefix)]
    assert keys == [f"{prefix}/a/ns/empty/{FOLDER_MARKER}", f"{prefix}/a/ns/f.txt"]
    with pytest.raises(ValueError, match="keeps for itself"):
        first.put(f"ns/{FOLDER_MARKER}", b"x")


def test_local_is_still_the_plain_directory(tmp_path: Path) -> None:
    storage = open_storage(tmp_path / "store")
    assert isinstance(storage, LocalStorage)
    storage.put("a/b.txt", b"x")
    assert (tmp_path / "store" / "a" / "b.txt").read_bytes() == b"x"
