"""Namespace files' pure rules: paths, Kestra's include/exclude globs, zip budgets; and the
local storage's folder operations they use."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from ostinato.storage import LocalStorage
from ostinato.storage import namespace_files as nsf


def test_paths_live_under_the_namespace_files_folder() -> None:
    assert nsf.storage_path("company.team", "/scripts//hello.py") == "company/team/_files/scripts/hello.py"
    assert nsf.storage_path("company.team", None) == "company/team/_files"
    for bad in ("../x", "a/./b", "/_flows/f.yml"):
        with pytest.raises(nsf.BadNamespacePath):
            nsf.storage_path("company.team", bad)
    with pytest.raises(nsf.BadNamespacePath):
        nsf.files_prefix("a/b")


@pytest.mark.parametrize("include, exclude, expected", [
    (None, None, ["a.py", "scripts/b.py", "scripts/deep/c.sql"]),
    (["scripts/**"], None, ["scripts/b.py", "scripts/deep/c.sql"]),
    (["*.py"], None, ["a.py"]),
    (["**.py"], None, ["a.py", "scripts/b.py"]),
    (["b.py"], None, ["scripts/b.py"]),          # a word-first pattern matches at any depth
    (None, ["**/deep/**"], ["a.py", "scripts/b.py"]),
    (["scripts/**"], ["**.sql"], ["scripts/b.py"]),
])
def test_include_and_exclude_globs(include: list[str] | None, exclude: list[str] | None,
                                   expected: list[str]) -> None:
    paths = ["a.py", "scripts/b.py", "scripts/deep/c.sql"]
    assert nsf.selected(paths, include, exclude) == expected


def test_a_zip_is_read_within_its_budget() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("dir/a.txt", "A" * 1000)
        archive.writestr("b.txt", "B")
    data = buffer.getvalue()
    assert nsf.zip_members(data, 10_000) == [("dir/a.txt", b"A" * 1000), ("b.txt", b"B")]
    with pytest.raises(nsf.BadNamespacePath, match="expands to 1001 bytes"):
        nsf.zip_members(data, 500)  # refused before anything is expanded
    with pytest.raises(nsf.BadNamespacePath, match="not a zip"):
        nsf.zip_members(b"plain text", 500)


def test_local_storage_folder_operations(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.put("ns/_files/a/b.txt", b"hello")
    storage.make_dir("ns/_files/empty")
    assert storage.files_under("ns/_files") == ["a/b.txt"]
    entries = storage.entries("ns/_files")
    assert [(e.name, e.is_dir) for e in entries or []] == [("a", True), ("empty", True)]
    stat = storage.stat("ns/_files/a/b.txt")
    assert stat is not None and (stat.size, stat.is_dir) == (5, False)
    assert nsf.attributes(stat)["type"] == "File"
    storage.move("ns/_files/a", "ns/_files/moved/a")
    assert storage.get("ns/_files/moved/a/b.txt") == b"hello"
    with pytest.raises(FileExistsError):
        storage.move("ns/_files/empty", "ns/_files/moved/a")
    assert storage.delete("ns/_files/moved") is True and storage.delete("ns/_files/moved") is False
    assert storage.entries("ns/_files/nothing") is None
