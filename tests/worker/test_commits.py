"""The worker's bookkeeping without a broker: offsets are committed only up to the first
task not yet ended on each partition; a task attempt received twice runs once, the copy
waiting for the first one's result; the memory of attempts is bounded."""

from __future__ import annotations

import threading

from ostinato.services.worker.commits import ContiguousOffsets, RecentAttempts


def test_nothing_is_committable_before_a_task_ends() -> None:
    offsets = ContiguousOffsets()
    offsets.start(0, 10)
    offsets.start(0, 11)
    assert offsets.committable() == {}


def test_offsets_commit_only_up_to_the_first_unfinished_one() -> None:
    offsets = ContiguousOffsets()
    for offset in (10, 11, 12, 13):
        offsets.start(0, offset)
    offsets.finish(0, 10)
    offsets.finish(0, 12)
    offsets.finish(0, 13)
    assert offsets.committable() == {0: 11}  # 11 still runs: 12 and 13 wait for it
    assert offsets.committable() == {}  # answered once
    offsets.finish(0, 11)
    assert offsets.committable() == {0: 14}


def test_each_partition_commits_on_its_own() -> None:
    offsets = ContiguousOffsets()
    offsets.start(0, 5)
    offsets.start(1, 7)
    offsets.start(1, 8)
    offsets.finish(1, 7)
    offsets.finish(1, 8)
    assert offsets.committable() == {1: 9}
    offsets.finish(0, 5)
    assert offsets.committable() == {0: 6}


def test_a_task_that_never_ends_holds_back_its_partition() -> None:
    """A task whose worker code crashed is never finished: it is read again after a restart."""
    offsets = ContiguousOffsets()
    offsets.start(0, 1)
    offsets.start(0, 2)
    offsets.finish(0, 2)
    for _ in range(3):
        assert offsets.committable() == {}


def test_a_revoked_partition_is_forgotten() -> None:
    offsets = ContiguousOffsets()
    offsets.start(0, 1)
    offsets.start(1, 1)
    offsets.forget({0})
    offsets.finish(0, 1)
    offsets.finish(1, 1)
    assert offsets.committable() == {1: 2}


def test_the_first_copy_of_an_attempt_runs_and_a_duplicate_is_dropped() -> None:
    recent = RecentAttempts()
    assert recent.take("run-1", 0) is None
    assert recent.take("run-1", 0) is not None
    assert recent.take("run-1", 1) is None  # a retry is another attempt: it runs
    assert recent.take("run-2", 0) is None


def test_a_copy_arriving_while_the_first_runs_waits_for_its_result() -> None:
    recent = RecentAttempts()
    assert recent.take("run-1", 0) is None
    first_ended = recent.take("run-1", 0)
    assert first_ended is not None
    released = threading.Event()

    def copy() -> None:
        first_ended.wait()
        released.set()

    waiter = threading.Thread(target=copy, daemon=True)
    waiter.start()
    assert not released.wait(0.2)  # the first copy still runs
    recent.end("run-1", 0)
    assert released.wait(5)
    waiter.join(5)
    again = recent.take("run-1", 0)
    assert again is not None and again.is_set()


def test_a_copy_after_the_first_ended_does_not_wait() -> None:
    recent = RecentAttempts()
    assert recent.take("run-1", 0) is None
    recent.end("run-1", 0)
    ended = recent.take("run-1", 0)
    assert ended is not None and ended.is_set()


def test_the_memory_is_bounded_and_forgets_the_oldest() -> None:
    recent = RecentAttempts(size=3)
    for index in range(5):
        assert recent.take(f"run-{index}", 0) is None
    assert len(recent) == 3
    assert recent.take("run-4", 0) is not None  # still remembered
    assert recent.take("run-0", 0) is None  # forgotten: a copy this late runs again
    assert len(recent) == 3


def test_ending_a_forgotten_attempt_is_harmless() -> None:
    recent = RecentAttempts(size=1)
    assert recent.take("run-1", 0) is None
    assert recent.take("run-2", 0) is None
    recent.end("run-1", 0)
    assert len(recent) == 1
