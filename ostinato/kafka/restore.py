"""Reading one partition from an offset to its end, for restoring a state.

The end is the consumer's partition-EOF event (`Follower`), not the high watermark: the
embedded broker's watermark is wrong (DESIGN.md, "Running it"). A record that cannot be
applied (malformed, or not a valid value) is dead-lettered and skipped: a bad record on a
changelog never makes a service fail to start (DESIGN.md, invariant 9).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.dead_letters import UNREADABLE, DeadLetters, reason_of
from ostinato.kafka.follower import Follower
from ostinato.logging import get_logger

log = get_logger(component="restore")


#: the fetch wait of a restore's reads (module doc; a user's --kafka-config still wins)
RESTORE_FETCH_WAIT_MS = 10


class RestoreTimeout(RuntimeError):
    pass


def read_partition_to_end(
    settings: KafkaSettings,
    topic: str,
    partition: int,
    start: int,
    apply: Callable[[str, bytes | None, int], None],
    *,
    dead_letters: DeadLetters | None = None,
    timeout: float = 120.0,
) -> int:
    """Call `apply(key, value, offset)` for every record from `start` to the end; returns
    how many were read. When `apply` raises one of `UNREADABLE` for a record, the record
    goes to `dead_letters` (logged only without one) and the reading goes on; `apply` must
    leave its state unchanged for a record it refuses. Raises RestoreTimeout if the end is
    not reached in time."""
    return read_partitions_to_end(
        settings, topic, {partition: start},
        lambda _partition, key, value, offset: apply(key, value, offset),
        dead_letters=dead_letters, timeout=timeout)


def read_partitions_to_end(
    settings: KafkaSettings,
    topic: str,
    starts: Mapping[int, int],
    apply: Callable[[int, str, bytes | None, int], None],
    *,
    dead_letters: DeadLetters | None = None,
    timeout: float = 120.0,
) -> int:
    """`read_partition_to_end` for several partitions of `topic` at once (`starts`:
    partition -> first offset), through one consumer: a consumer's start (connection,
    metadata) is paid once, not once a partition; `apply(partition, key, value, offset)`."""
    if not starts:
        return 0
    # a short fetch wait: the last fetch of a restore finds the end and waits its full wait
    # for nothing, on every partition of every restore at a service's start
    follower = Follower(settings, {(topic, partition): start for partition, start in starts.items()},
                        fetch_wait_ms=RESTORE_FETCH_WAIT_MS)
    deadline = time.monotonic() + timeout
    count = 0
    try:
        while not follower.reached_end:
            if time.monotonic() >= deadline:
                raise RestoreTimeout(f"{topic}{sorted(starts)} not read to its end within {timeout} s")
            for received in follower.poll(1000, 0.1):
                count += 1
                try:
                    apply(received.partition, received.key or "", received.value, received.offset)
                except UNREADABLE as error:
                    if dead_letters is not None:
                        dead_letters.send(received, f"not restored: {reason_of(error)}")
                    else:
                        log.error("record not restored, skipped", topic=topic,
                                  partition=received.partition, offset=received.offset,
                                  reason=reason_of(error))
        return count
    finally:
        follower.close()
