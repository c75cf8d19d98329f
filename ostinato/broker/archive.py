"""The on-disk form of kept topics: one append-only file of CRC-checked frames per topic.

A frame is (crc32, partition, offset, key, value); the CRC covers everything after it, so
a frame torn by a crash is recognised and the file is read up to it. Files are replaced
atomically (temporary file, fsync, rename) when they are rewritten at a restore.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ostinato.logging import get_logger

log = get_logger(component="topic-archive")

_HEADER = struct.Struct(">IiqII")  # crc32, partition, offset, key length, value length
_NONE = 0xFFFFFFFF  # the length of an absent key or value (a tombstone)


@dataclass(frozen=True)
class KeptRecord:
    partition: int
    #: its offset in the broker it was read from (the inbox tails are cut by it)
    offset: int
    key: bytes | None
    value: bytes | None


def encode_frame(record: KeptRecord) -> bytes:
    """One record as a self-checking frame."""
    key, value = record.key, record.value
    body = struct.pack(">iqII", record.partition, record.offset,
                       _NONE if key is None else len(key),
                       _NONE if value is None else len(value)) + (key or b"") + (value or b"")
    return struct.pack(">I", zlib.crc32(body)) + body


def read_frames(path: Path) -> Iterator[KeptRecord]:
    """The records of one archive file, in order; stops at the first torn or corrupt frame
    (the tail a crash may leave), logging it. A missing file has no records."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    at = 0
    while at + _HEADER.size <= len(data):
        crc, partition, offset, key_len, value_len = _HEADER.unpack_from(data, at)
        key_size = 0 if key_len == _NONE else key_len
        end = at + _HEADER.size + key_size + (0 if value_len == _NONE else value_len)
        if end > len(data) or zlib.crc32(data[at + 4:end]) != crc:
            break
        start = at + _HEADER.size
        key = None if key_len == _NONE else data[start:start + key_size]
        value = None if value_len == _NONE else data[start + key_size:end]
        yield KeptRecord(partition, offset, key, value)
        at = end
    if at < len(data):
        log.warning("archive ends with a torn record, ignored", file=str(path), bytes=len(data) - at)


def rewrite(path: Path, records: Iterable[KeptRecord]) -> None:
    """Replace the archive with `records`, atomically (a crash leaves the old or the new)."""
    temporary = path.with_suffix(".tmp")
    with temporary.open("wb") as out:
        for record in records:
            out.write(encode_frame(record))
        out.flush()
        os.fsync(out.fileno())
    temporary.replace(path)


def compacted(records: list[KeptRecord]) -> list[KeptRecord]:
    """What a compacted topic keeps: the last record of each (partition, key), in the order
    those last records came, tombstones dropped (the fresh broker has nothing to delete)."""
    last: dict[tuple[int, bytes | None], tuple[int, KeptRecord]] = {}
    for index, record in enumerate(records):
        last[(record.partition, record.key)] = (index, record)
    return [record for _, record in sorted(last.values(), key=lambda pair: pair[0])
            if record.value is not None]


def unconsumed(records: list[KeptRecord], committed: dict[int, int]) -> list[KeptRecord]:
    """The records at or after their partition's committed offset: what the group had not
    finished when the broker went away (all of a partition with no commit)."""
    return [r for r in records if r.offset >= committed.get(r.partition, 0)]
