"""The executor's store: execution records per partition, their timers, and the offset of
the changelog each partition has applied, all written in one RocksDB batch.

Values are the very bytes of the changelog records (Avro), so restoring a partition is
copying records, and the store never holds a form the changelog could not reproduce.

Keys:  h/<p>/<executionId>             ExecutionHeader record
       r/<p>/<executionId>/<taskRunId>  TaskRun record
       v/<p>/<executionId>/<taskRunId>  TaskRunValues record (a ForEach's values, written once)
       t/<p>/<executionId>/<timerId>    fire time (ISO text), an index of pending timers
       e/<p>/<finished ms>/<executionId> empty: executions by the time they finished (for the
                                        retention sweep; an entry may be stale, see there)
       o/<p>                            last changelog offset applied (decimal text)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from rocksdict import WriteBatch

from ostinato.store.rocks import open_raw, scan


def _k(*parts: object) -> bytes:
    return "/".join(str(p) for p in parts).encode()


@dataclass
class StoreBatch:
    """Writes gathered while a batch of events is processed, applied at once."""

    puts: dict[bytes, bytes] = field(default_factory=dict)
    deletes: set[bytes] = field(default_factory=set)
    offsets: dict[int, int] = field(default_factory=dict)

    def put(self, key: bytes, value: bytes) -> None:
        self.deletes.discard(key)
        self.puts[key] = value

    def delete(self, key: bytes) -> None:
        self.puts.pop(key, None)
        self.deletes.add(key)

    def __bool__(self) -> bool:
        return bool(self.puts or self.deletes or self.offsets)


class ExecutionStore:
    """RocksDB under `path`; one instance per executor process."""

    def __init__(self, path: Path) -> None:
        self._db = open_raw(path)

    def close(self) -> None:
        self._db.close()

    # ---- keys
    @staticmethod
    def header_key(partition: int, execution_id: str) -> bytes:
        return _k("h", partition, execution_id)

    @staticmethod
    def run_key(partition: int, execution_id: str, task_run_id: str) -> bytes:
        return _k("r", partition, execution_id, task_run_id)

    @staticmethod
    def values_key(partition: int, execution_id: str, task_run_id: str) -> bytes:
        return _k("v", partition, execution_id, task_run_id)

    @staticmethod
    def timer_key(partition: int, execution_id: str, timer_id: str) -> bytes:
        return _k("t", partition, execution_id, timer_id)

    @staticmethod
    def ended_key(partition: int, finished_ms: int, execution_id: str) -> bytes:
        # zero-padded so that keys sort by time
        return _k("e", partition, f"{finished_ms:015d}", execution_id)

    # ---- reads
    def header(self, partition: int, execution_id: str) -> bytes | None:
        value = self._db.get(self.header_key(partition, execution_id))
        return None if value is None else bytes(value)

    def runs(self, partition: int, execution_id: str) -> list[bytes]:
        return [value for _, value in self._scan(_k("r", partition, execution_id) + b"/")]

    def values(self, partition: int, execution_id: str) -> list[bytes]:
        return [value for _, value in self._scan(_k("v", partition, execution_id) + b"/")]

    def timers(self, partition: int) -> Iterator[tuple[str, str, str]]:
        """(fire time, execution id, timer id) of every pending timer of a partition."""
        prefix = _k("t", partition) + b"/"
        for key, value in self._scan(prefix):
            execution_id, timer_id = key[len(prefix):].decode().split("/", 1)
            yield value.decode(), execution_id, timer_id

    def timer_ids(self, partition: int, execution_id: str) -> list[str]:
        prefix = _k("t", partition, execution_id) + b"/"
        return [key[len(prefix):].decode() for key, _ in self._scan(prefix)]

    def record_ids(self, partition: int, execution_id: str) -> tuple[list[str], list[str]]:
        """The task run ids of the execution's TaskRun records, and of its TaskRunValues."""
        ids = []
        for kind in ("r", "v"):
            prefix = _k(kind, partition, execution_id) + b"/"
            ids.append([key[len(prefix):].decode() for key, _ in self._scan(prefix)])
        return ids[0], ids[1]

    def ended_before(self, partition: int, cutoff_ms: int, limit: int) -> list[tuple[bytes, int, str]]:
        """(index key, finished ms, execution id) of up to `limit` entries of the finished
        index at or before `cutoff_ms`, oldest first."""
        prefix = _k("e", partition) + b"/"
        out: list[tuple[bytes, int, str]] = []
        for key, _ in self._scan(prefix):
            finished, execution_id = key[len(prefix):].decode().split("/", 1)
            if int(finished) > cutoff_ms or len(out) >= limit:
                break
            out.append((key, int(finished), execution_id))
        return out

    def changelog_offset(self, partition: int) -> int | None:
        value = self._db.get(_k("o", partition))
        return None if value is None else int(bytes(value).decode())

    def _scan(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        return scan(self._db, prefix)

    # ---- writes
    def write(self, batch: StoreBatch) -> None:
        """Apply every put, delete and changelog offset of `batch` atomically."""
        if not batch:
            return
        wb = WriteBatch(raw_mode=True)
        for key in batch.deletes:
            wb.delete(key)
        for key, value in batch.puts.items():
            wb.put(key, value)
        for partition, offset in batch.offsets.items():
            wb.put(_k("o", partition), str(offset).encode())
        self._db.write(wb)
