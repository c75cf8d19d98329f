"""What every RocksDB store here does the same way: open in raw (bytes) mode, scan a prefix."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from rocksdict import Options, Rdict


def open_raw(path: Path) -> Rdict:
    """A RocksDB database of bytes keys and values at `path` (created if missing)."""
    path.mkdir(parents=True, exist_ok=True)
    return Rdict(str(path), Options(raw_mode=True))


def scan(db: Rdict, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(key, value) of every key starting with `prefix`, in key order."""
    it = db.iter()
    it.seek(prefix)
    while it.valid():
        key = bytes(it.key())
        if not key.startswith(prefix):
            break
        yield key, bytes(it.value())
        it.next()
