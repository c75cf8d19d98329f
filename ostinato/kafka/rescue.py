"""Records a hot consumer's short fetches cannot get.

The embedded broker (Tansu 0.6) sometimes answers every fetch with a short wait
(`fetch.wait.max.ms` 5, the hot consumers') with nothing, at a position where records are
there, while a fetch that may wait longer (200 ms) gets them at once: measured under a
ForEach of 10,000 values, where the executor stopped at about half of the results for good,
paused or not, and a fresh consumer with the same wait failed at the same offset. So when a
hot consumer's reads have found nothing for a while, `StuckReader` asks the broker for each
partition's end; where it is past the position, it reads those records through a consumer
of its own with a longer wait, hands them to the caller as if the hot consumer had read
them, and seeks the hot consumer past them. A real Kafka never gets here (its ends are
where the position is when a consumer is idle).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaException, TopicPartition

from ostinato.logging import get_logger

log = get_logger(component="kafka")

#: how long a hot consumer's reads find nothing before its partitions' ends are asked
CHECK_AFTER_SECONDS = 0.5
#: how long the rescue consumer waits for the records it knows are there
RESCUE_READ_SECONDS = 2.0


class StuckReader:
    def __init__(self, consumer: Any, make_reader: Callable[[], Any],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._consumer = consumer
        self._make_reader = make_reader
        self._reader: Any = None
        self._clock = clock
        self._next_check = 0.0

    def read(self, positions: dict[tuple[str, int], int], held: set[int],
             max_messages: int) -> list[Any]:
        """Records of the first assigned partition whose end is past its position (the
        offset the caller will read next, from `positions`), read with a longer wait; []
        when none is (checked at most every CHECK_AFTER_SECONDS)."""
        now = self._clock()
        if now < self._next_check:
            return []
        self._next_check = now + CHECK_AFTER_SECONDS
        for tp in self._consumer.assignment():
            start = positions.get((tp.topic, tp.partition))
            if tp.partition in held or start is None or not self._behind(tp, start):
                continue
            messages = self._read_from(tp.topic, tp.partition, start, max_messages)
            if messages:
                last = messages[-1].offset()
                log.warning("records the hot consumer could not fetch read with a longer wait",
                            topic=tp.topic, partition=tp.partition, offset=start,
                            records=len(messages))
                self._consumer.seek(TopicPartition(tp.topic, tp.partition, last + 1))
                return messages
        return []

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def _behind(self, tp: TopicPartition, start: int) -> bool:
        """Whether the partition ends past `start`: by the end its last fetch response gave
        (the embedded broker's own answer to a query of the end can be far behind), else by
        asking the broker."""
        for cached in (True, False):
            try:
                _, end = self._consumer.get_watermark_offsets(tp, timeout=1.0, cached=cached)
            except KafkaException:
                continue
            if end > start:
                return True
        return False

    def _read_from(self, topic: str, partition: int, start: int, max_messages: int) -> list[Any]:
        if self._reader is None:
            self._reader = self._make_reader()
        self._reader.assign([TopicPartition(topic, partition, start)])
        deadline = self._clock() + RESCUE_READ_SECONDS
        try:
            while self._clock() < deadline:
                messages = [m for m in self._reader.consume(max_messages, 0.2)
                            if m.error() is None and m.offset() >= start]
                if messages:
                    return messages
            return []
        finally:
            self._reader.unassign()
