"""The executor's RocksDB store: one atomic batch of records, timers and offsets."""

from __future__ import annotations

from pathlib import Path

from ostinato.store.executions import ExecutionStore, StoreBatch


def test_a_batch_writes_records_timers_and_offsets_together(tmp_path: Path) -> None:
    store = ExecutionStore(tmp_path / "db")
    batch = StoreBatch()
    batch.put(store.header_key(1, "e1"), b"header")
    batch.put(store.run_key(1, "e1", "r2"), b"run2")
    batch.put(store.run_key(1, "e1", "r1"), b"run1")
    batch.put(store.run_key(1, "e10", "r1"), b"other execution")
    batch.put(store.timer_key(1, "e1", "retry/3"), b"2024-01-01T00:00:01Z")
    batch.offsets[1] = 41
    store.write(batch)
    assert store.header(1, "e1") == b"header"
    assert store.header(2, "e1") is None
    assert sorted(store.runs(1, "e1")) == [b"run1", b"run2"]  # not e10's
    assert list(store.timers(1)) == [("2024-01-01T00:00:01Z", "e1", "retry/3")]
    assert store.timer_ids(1, "e1") == ["retry/3"]
    assert store.changelog_offset(1) == 41
    assert store.changelog_offset(2) is None
    store.close()


def test_deletes_and_reopening(tmp_path: Path) -> None:
    store = ExecutionStore(tmp_path / "db")
    first = StoreBatch()
    first.put(store.timer_key(0, "e", "t"), b"x")
    first.offsets[0] = 1
    store.write(first)
    second = StoreBatch()
    second.put(store.timer_key(0, "e", "t"), b"y")
    second.delete(store.timer_key(0, "e", "t"))  # the last word wins inside a batch
    second.offsets[0] = 2
    store.write(second)
    store.close()
    reopened = ExecutionStore(tmp_path / "db")
    assert list(reopened.timers(0)) == []
    assert reopened.changelog_offset(0) == 2
    reopened.close()


def test_the_finished_index_is_read_oldest_first_up_to_a_cutoff(tmp_path: Path) -> None:
    store = ExecutionStore(tmp_path / "db")
    batch = StoreBatch()
    for finished, execution_id in [(9_000, "late"), (1_000, "early"), (20_000, "later"), (5_000, "mid")]:
        batch.put(store.ended_key(2, finished, execution_id), b"")
    batch.put(store.ended_key(3, 1, "other-partition"), b"")
    batch.put(store.run_key(2, "early", "r1"), b"run")
    batch.put(store.values_key(2, "early", "r1"), b"values")
    batch.put(store.run_key(2, "early", "r2"), b"run")
    store.write(batch)
    found = store.ended_before(2, 9_000, limit=10)
    assert [(finished, execution_id) for _, finished, execution_id in found] == [
        (1_000, "early"), (5_000, "mid"), (9_000, "late")]  # zero-padded: 20,000 sorts after 9,000
    assert [execution_id for _, _, execution_id in store.ended_before(2, 9_000, limit=2)] == ["early", "mid"]
    assert store.record_ids(2, "early") == (["r1", "r2"], ["r1"])
    assert store.record_ids(2, "mid") == ([], [])
    store.close()
