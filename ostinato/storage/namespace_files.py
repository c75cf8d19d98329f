"""Namespace files: the files users keep beside a namespace's flows (Kestra's `NamespaceFile`).

They live in internal storage under `<namespace as folders>/_files/` (Kestra's layout:
`kestra:///company/team/_files/scripts/hello.py`), which is also what `FileScope` lets the
namespace's executions read. A namespace file's path is relative to that folder; `_flows`
at its root is Kestra's reserved folder of flow sources and is refused.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

from ostinato.storage.base import FileStat

FILES_FOLDER = "_files"
#: Kestra's reserved folder (its export puts flow sources there)
FLOWS_FOLDER = "_flows"
#: a zip upload may hold at most this many files ...
MAX_ZIP_ENTRIES = 10_000


class BadNamespacePath(ValueError):
    """A namespace file path that escapes the namespace's folder or names `_flows`."""


def files_prefix(namespace: str) -> str:
    """The storage folder of a namespace's files: `company/team/_files`."""
    if not namespace or "/" in namespace or any(p in ("", ".", "..") for p in namespace.split(".")):
        raise BadNamespacePath(f"`{namespace}` is not a namespace")
    return f"{namespace.replace('.', '/')}/{FILES_FOLDER}"


def relative_path(path: str | None) -> str:
    """A namespace file path normalised (`/a//b.txt` -> `a/b.txt`; the root is ``""``);
    BadNamespacePath for `..`, `.` or the reserved `_flows` folder."""
    parts = [p for p in (path or "").replace("\\", "/").split("/") if p]
    if any(p in ("..", ".") or "\x00" in p for p in parts):
        raise BadNamespacePath(f"Invalid path `{path}`: `..` and `.` are not allowed")
    if parts and parts[0] == FLOWS_FOLDER:
        raise BadNamespacePath(f"Forbidden path: /{'/'.join(parts)}")
    return "/".join(parts)


def storage_path(namespace: str, path: str | None) -> str:
    """The storage path of a namespace file (or of the folder itself for the root)."""
    relative = relative_path(path)
    prefix = files_prefix(namespace)
    return f"{prefix}/{relative}" if relative else prefix


def attributes(stat: FileStat) -> dict[str, Any]:
    """Kestra's `FileAttributes` JSON of a file or folder."""
    return {"fileName": stat.name, "lastModifiedTime": int(stat.modified * 1000),
            "creationTime": int(stat.created * 1000),
            "type": "Directory" if stat.is_dir else "File", "size": stat.size, "metadata": {}}


def zip_members(data: bytes, max_total: int) -> list[tuple[str, bytes]]:
    """The files of an uploaded zip as (relative path, bytes), checked against a budget:
    at most MAX_ZIP_ENTRIES files and `max_total` bytes once uncompressed (a zip bomb is
    refused before it is expanded). BadNamespacePath for a bad path or a broken archive."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        raise BadNamespacePath(f"not a zip archive: {error}") from None
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) > MAX_ZIP_ENTRIES:
        raise BadNamespacePath(f"the archive holds {len(members)} files, more than the "
                               f"{MAX_ZIP_ENTRIES} accepted")
    declared = sum(m.file_size for m in members)
    if declared > max_total:
        raise BadNamespacePath(f"the archive expands to {declared} bytes, more than the "
                               f"{max_total} accepted")
    out, total = [], 0
    for member in members:
        content = archive.read(member)
        total += len(content)
        if total > max_total:  # a header that lied about the size
            raise BadNamespacePath(f"the archive expands to more than {max_total} bytes")
        out.append((relative_path(member.filename), content))
    return out


def glob_matcher(patterns: Iterable[str]) -> re.Pattern[str] | None:
    """One regular expression for Kestra's include/exclude globs over relative paths:
    `*` within a folder, `**` across folders, `?` one character; a pattern that starts
    with a word character matches at any depth (Kestra prefixes it with `**/`). None when
    there is no pattern."""
    alternatives = []
    for pattern in patterns:
        text = pattern.strip().lstrip("/")
        if not text:
            continue
        body = _glob_regex(text)
        if re.match(r"\w", text):
            body = f"(?:.*/)?{body}"
        alternatives.append(body)
    return re.compile("|".join(f"(?:{a})" for a in alternatives)) if alternatives else None


def _glob_regex(pattern: str) -> str:
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        out.append({"*": "[^/]*", "?": "[^/]"}.get(char, re.escape(char)))
        i += 1
    return "".join(out)


def selected(paths: Iterable[str], include: Iterable[str] | None,
             exclude: Iterable[str] | None) -> list[str]:
    """The paths that match an `include` glob (all without) and no `exclude` glob."""
    keep, drop = glob_matcher(include or []), glob_matcher(exclude or [])
    return [p for p in paths
            if (keep is None or keep.fullmatch(p)) and (drop is None or not drop.fullmatch(p))]


def display_path(relative: str) -> str:
    """A namespace file path as Kestra shows it: `/scripts/hello.py`."""
    return "/" + str(PurePosixPath(relative)) if relative else "/"
