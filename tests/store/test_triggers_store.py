"""The scheduler's RocksDB mirror of scheduler-state."""

from __future__ import annotations

from pathlib import Path

from ostinato.store.triggers import TriggerStore


def test_states_and_offset_survive_reopening(tmp_path: Path) -> None:
    store = TriggerStore(tmp_path / "db")
    assert store.changelog_offset() is None and list(store.states()) == []
    store.write({"a/x": b"1", "b/y": b"2"}, 7)
    store.write({"a/x": None}, None)
    store.close()
    again = TriggerStore(tmp_path / "db")
    assert list(again.states()) == [b"2"]
    assert again.changelog_offset() == 7
    again.close()
