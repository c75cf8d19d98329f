"""The scheduler's store: each Schedule trigger's state record (`TriggerState` bytes, as on
the `scheduler-state` changelog) and the changelog offset applied, in one RocksDB batch."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from rocksdict import WriteBatch

from ostinato.store.rocks import open_raw, scan


class TriggerStore:
    def __init__(self, path: Path) -> None:
        self._db = open_raw(path)

    def close(self) -> None:
        self._db.close()

    def changelog_offset(self) -> int | None:
        value = self._db.get(b"o")
        return None if value is None else int(bytes(value).decode())

    def write(self, states: dict[str, bytes | None], offset: int | None) -> None:
        """Put (or delete, for None) trigger states and record the changelog offset."""
        batch = WriteBatch(raw_mode=True)
        for uid, value in states.items():
            key = b"t/" + uid.encode()
            if value is None:
                batch.delete(key)
            else:
                batch.put(key, value)
        if offset is not None:
            batch.put(b"o", str(offset).encode())
        self._db.write(batch)

    def states(self) -> Iterator[bytes]:
        return (value for _, value in scan(self._db, b"t/"))
