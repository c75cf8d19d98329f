"""The kept topics' files: a torn tail from a crash, compaction, the inbox tails."""

from __future__ import annotations

from pathlib import Path

from ostinato.broker.archive import KeptRecord, compacted, encode_frame, read_frames, rewrite, unconsumed
from ostinato.broker.persistence import archive_dir


def _record(partition: int, offset: int, key: str | None, value: str | None) -> KeptRecord:
    return KeptRecord(partition, offset, None if key is None else key.encode(),
                      None if value is None else value.encode())


def test_a_torn_or_corrupt_tail_ends_the_file_and_the_records_before_it_are_read(tmp_path: Path) -> None:
    path = tmp_path / "flows.log"
    records = [_record(0, 0, "a", "one"), _record(0, 1, None, "two"), _record(1, 2, "c", None)]
    rewrite(path, records)
    whole = path.read_bytes()
    assert list(read_frames(path)) == records
    path.write_bytes(whole + encode_frame(_record(0, 3, "d", "four"))[:-2])  # torn by a crash
    assert list(read_frames(path)) == records
    corrupt = bytearray(whole)
    corrupt[-1] ^= 0xFF
    path.write_bytes(bytes(corrupt))
    assert list(read_frames(path)) == records[:2]


def test_compaction_keeps_the_last_value_of_each_key_per_partition_in_order_without_tombstones() -> None:
    records = [_record(0, 0, "a", "1"), _record(0, 1, "b", "1"), _record(1, 0, "a", "x"),
               _record(0, 2, "a", "2"), _record(0, 3, "b", None)]
    assert compacted(records) == [_record(1, 0, "a", "x"), _record(0, 2, "a", "2")]


def test_an_inbox_keeps_what_its_group_had_not_committed() -> None:
    records = [_record(0, 0, "a", "1"), _record(0, 1, "a", "2"), _record(1, 0, "b", "1")]
    assert unconsumed(records, {0: 1}) == records[1:]
    assert unconsumed(records, {0: 2, 1: 1}) == []


def test_a_swap_interrupted_between_its_renames_is_finished_at_the_next_start(tmp_path: Path) -> None:
    (tmp_path / "topics.prev").mkdir()
    rewrite(tmp_path / "topics.prev" / "flows.log", [_record(0, 0, "a", "1")])
    (tmp_path / "topics.next").mkdir()  # an unfinished restore: ignored
    directory = archive_dir(tmp_path)
    assert list(read_frames(directory / "flows.log")) == [_record(0, 0, "a", "1")]
    assert not (tmp_path / "topics.next").exists() and not (tmp_path / "topics.prev").exists()
