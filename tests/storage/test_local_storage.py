"""LocalStorage and the Kestra storage layout helpers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ostinato.storage import (
    LocalStorage,
    Storage,
    execution_prefix,
    input_file_uri_path,
    to_uri,
    uri_path,
)


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "root")


def test_is_a_storage(storage: LocalStorage) -> None:
    assert isinstance(storage, Storage)


def test_put_get_exists_size(storage: LocalStorage) -> None:
    uri = storage.put("io/kestra/tests/f/executions/e1/a.txt", b"hello")
    assert uri == "kestra:///io/kestra/tests/f/executions/e1/a.txt"
    assert storage.get(uri) == b"hello"
    assert storage.exists(uri)
    assert storage.size(uri) == 5
    # a bare path names the same file
    assert storage.get("io/kestra/tests/f/executions/e1/a.txt") == b"hello"
    assert storage.get("/io/kestra/tests/f/executions/e1/a.txt") == b"hello"
    assert (storage.root / "io/kestra/tests/f/executions/e1/a.txt").read_bytes() == b"hello"
    with storage.open(uri) as handle:
        assert handle.read(2) == b"he" and handle.read() == b"llo"
    with pytest.raises(FileNotFoundError, match="nothing.txt"):
        storage.open("kestra:///io/nothing.txt")


def test_put_accepts_a_uri_and_overwrites(storage: LocalStorage) -> None:
    uri = storage.put("kestra:///x/y.bin", b"\x00\x01")
    assert uri == "kestra:///x/y.bin"
    storage.put("x/y.bin", b"longer content")
    assert storage.get(uri) == b"longer content"
    assert storage.size(uri) == 14
    assert [p.name for p in (storage.root / "x").iterdir()] == ["y.bin"]  # no temp files left


def test_empty_file(storage: LocalStorage) -> None:
    uri = storage.put("e/empty", b"")
    assert storage.exists(uri) and storage.size(uri) == 0 and storage.get(uri) == b""


def test_missing(storage: LocalStorage) -> None:
    uri = "kestra:///nope/missing.txt"
    assert not storage.exists(uri)
    with pytest.raises(FileNotFoundError, match="kestra:///nope/missing.txt"):
        storage.get(uri)
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        storage.size(uri)
    storage.put("dir/file", b"x")
    assert not storage.exists("kestra:///dir")  # a directory is not a file
    with pytest.raises(FileNotFoundError):
        storage.get("kestra:///dir")


@pytest.mark.parametrize(
    "bad",
    ["../outside", "kestra:///../outside", "a/../../outside", "a/./b", "kestra:///", "",
     "s3://bucket/key", "a/..\\..\\outside"],
)
def test_escape_and_bad_uris_are_refused(storage: LocalStorage, bad: str) -> None:
    with pytest.raises(ValueError):
        storage.put(bad, b"x")
    with pytest.raises(ValueError):
        storage.get(bad)
    with pytest.raises(ValueError):
        storage.exists(bad)
    with pytest.raises(ValueError):
        storage.size(bad)
    assert not (storage.root.parent / "outside").exists()


def test_symlink_out_of_root_is_refused(storage: LocalStorage, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"s")
    os.symlink(outside, storage.root / "link")
    with pytest.raises(ValueError):
        storage.get("kestra:///link/secret")


def test_uri_helpers() -> None:
    assert uri_path("kestra:///a/b//c") == "a/b/c"
    assert to_uri("a/b") == "kestra:///a/b"
    assert to_uri("kestra:///a/b") == "kestra:///a/b"


def test_layout() -> None:
    assert execution_prefix("io.kestra.tests", "inputs", "abc") == (
        "io/kestra/tests/inputs/executions/abc"
    )
    assert input_file_uri_path("io.kestra.tests", "inputs", "abc", "file", "data.csv") == (
        "io/kestra/tests/inputs/executions/abc/inputs/file/data.csv"
    )
    # only the base name of an uploaded file is kept
    assert input_file_uri_path("n", "f", "e", "file", "../../etc/passwd").endswith(
        "/inputs/file/passwd"
    )
    with pytest.raises(ValueError):
        input_file_uri_path("n", "f", "e", "file", "..")


def test_layout_round_trip(storage: LocalStorage) -> None:
    path = input_file_uri_path("io.kestra.tests", "inputs", "abc", "file", "a.txt")
    uri = storage.put(path, b"content")
    assert uri == "kestra:///io/kestra/tests/inputs/executions/abc/inputs/file/a.txt"
    assert storage.get(uri) == b"content"


def test_delete_prefix_removes_one_folder_and_counts_its_files(storage: LocalStorage) -> None:
    storage.put("ns/flow/executions/one/inputs/a/x.txt", b"x")
    storage.put("ns/flow/executions/one/outputs/y.txt", b"y")
    storage.put("ns/flow/executions/two/z.txt", b"z")
    assert storage.delete_prefix("kestra:///ns/flow/executions/one") == 2
    assert not storage.exists("ns/flow/executions/one/outputs/y.txt")
    assert storage.get("ns/flow/executions/two/z.txt") == b"z"
    assert storage.delete_prefix("ns/flow/executions/one") == 0
    with pytest.raises(ValueError, match="escapes"):
        storage.delete_prefix("ns/../..")
