"""A large finished execution is written as several `Execution` records (parts of at most
PART_RUNS task runs), never as one record that carries it whole (schemas/README.md)."""

from __future__ import annotations

import pytest

from ostinato.execution.model import Execution
from ostinato.wire import default_codec
from ostinato.wire import records as rec
from tests.wire.samples import execution
from tests.wire.test_records import published, rebuild, same_execution, trip


def parts_of(ex: Execution) -> list[tuple[str, dict]]:
    count = rec.part_count(len(ex.task_run_list))
    return [(rec.part_key(ex.id, part, count), trip("Execution", rec.execution_part_record(ex, part)))
            for part in range(count)]


def test_a_small_execution_is_one_whole_record() -> None:
    ex = execution(rec.PART_RUNS)
    (key, record), = parts_of(ex)
    assert key == ex.id and record["partCount"] is None and record["partIndex"] is None
    assert len(record["taskRunList"]) == rec.PART_RUNS


def test_a_large_execution_is_parts_that_fold_back_into_it() -> None:
    ex = execution(2 * rec.PART_RUNS + 7)
    parts = parts_of(ex)
    assert [key for key, _ in parts] == [f"{ex.id}/part/0", f"{ex.id}/part/1", ex.id]
    assert [len(r["taskRunList"]) for _, r in parts] == [rec.PART_RUNS, rec.PART_RUNS, 7]
    assert [rec.is_partial(r) for _, r in parts] == [True, True, False]
    assert {rec.execution_id_of_key(key) for key, _ in parts} == {ex.id}
    codec = default_codec()
    whole = len(codec.encode("Execution", rec.execution_record(ex, internal=False)))
    assert all(len(codec.encode("Execution", r)) < whole / 2 for _, r in parts)
    view = None
    for _, record in parts:  # a reader from scratch (a compacted topic read from its start)
        view = rec.apply_execution_update(view, record)
    assert view is not None
    same_execution(published(rebuild(ex)), view)


def test_parts_fold_into_a_view_kept_from_updates() -> None:
    ex = execution(2 * rec.PART_RUNS + 7)
    view = rec.apply_execution_update(None, trip("ExecutionUpdate", rec.execution_update_record(
        ex, [r.id for r in ex.task_run_list])))
    for _, record in parts_of(ex):
        view = rec.apply_execution_update(view, record)
    same_execution(published(rebuild(ex)), view)


def test_a_missing_part_is_a_gap_not_a_silent_divergence() -> None:
    ex = execution(2 * rec.PART_RUNS + 7)
    first, _, last = parts_of(ex)
    view = rec.apply_execution_update(None, first[1])
    with pytest.raises(ValueError, match="an update is missing"):
        rec.apply_execution_update(view, last[1])


def test_each_run_is_in_the_part_its_index_names() -> None:
    ex = execution(2 * rec.PART_RUNS + 7)
    for part, (_, record) in enumerate(parts_of(ex)):
        assert {rec.part_of(r["index"]) for r in record["taskRunList"]} == {part}
