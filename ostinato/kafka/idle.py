"""Hot consumers that cost little when idle.

The executor's and the worker's consumers fetch with a short `fetch.wait.max.ms` so a record
is seen within milliseconds (the embedded broker does not answer a waiting fetch when data
arrives: ostinato/broker/embedded.py). Idle, that is a fetch every few milliseconds, most of
the broker's CPU. librdkafka cannot change the setting on a live consumer, so `IdleThrottle`
pauses the consumer's partitions after `idle_after` seconds without a record, and then
probes every `probe_every` seconds: resume, read for `probe_for`, pause again if nothing
came. The first record after a quiet spell waits up to `probe_every`; the records that
follow it while the consumer is busy see no difference.

A resumed partition stalls for about 0.7 s unless it is sought to its position first, which
`_resume` does with the positions it saw read. A partition not read since it was assigned
stalls about 0.6 s after a resume even when sought, until the client refreshes its metadata
(measured, librdkafka 2.16 on Tansu): `_resume` asks for the topic's metadata when it resumes
such a partition, which ends the stall at once (a metadata request a probe while a partition
was never read: far fewer requests than staying awake, as a fresh stack did before).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaException, TopicPartition

from ostinato.kafka.messages import consume_ready

#: seconds without a record before a hot consumer goes quiet
IDLE_AFTER_SECONDS = 2.0
#: how often a quiet consumer looks for records (the first record's added latency, at most)
PROBE_EVERY_SECONDS = 0.1
#: how long one probe reads (a few fetch round trips)
PROBE_FOR_SECONDS = 0.01


class IdleThrottle:
    """`consume` is `consume_ready` for one consumer, quiet when idle. `held()` names the
    partitions the caller itself keeps paused (they are left alone)."""

    def __init__(self, consumer: Any, *, held: Callable[[], set[int]] = set,
                 idle_after: float = IDLE_AFTER_SECONDS, probe_every: float = PROBE_EVERY_SECONDS,
                 probe_for: float = PROBE_FOR_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._consumer = consumer
        self._held = held
        self._idle_after = idle_after
        self._probe_every = probe_every
        self._probe_for = probe_for
        self._clock = clock
        self._last_record = clock()
        self._paused: list[TopicPartition] = []
        #: (topic, partition) -> the next offset to read, as far as this throttle saw
        self._next: dict[tuple[str, int], int] = {}
        self._next_probe = 0.0

    @property
    def quiet(self) -> bool:
        """True while the partitions are paused between probes."""
        return bool(self._paused)

    def consume(self, max_messages: int, timeout: float, *, busy: bool = False) -> list[Any]:
        """Up to `max_messages` records, waiting up to `timeout` s for the first. `busy`
        (work in hand) keeps the consumer awake."""
        now = self._clock()
        held = self._held()
        if held:  # the caller waits on these: stay awake, and forget where they were
            busy = True
            for key in [k for k in self._next if k[1] in held]:
                del self._next[key]
        if busy:
            self._last_record = now
        if not self._paused and not busy and now - self._last_record >= self._idle_after:
            self._pause(now)
        if not self._paused:
            return self._read(max_messages, timeout)
        if now < self._next_probe:
            time.sleep(min(timeout, self._next_probe - now))
            return []
        self._resume()
        messages = self._read(max_messages, self._probe_for)
        if not messages and not busy:
            self._pause(self._clock())
        return messages

    def forget(self, partitions: list[TopicPartition]) -> None:
        """Partitions revoked: they are no longer this throttle's to resume."""
        gone = {(tp.topic, tp.partition) for tp in partitions}
        self._paused = [tp for tp in self._paused if (tp.topic, tp.partition) not in gone]
        for key in gone:
            self._next.pop(key, None)

    def _read(self, max_messages: int, timeout: float) -> list[Any]:
        messages = consume_ready(self._consumer, max_messages, timeout)
        if messages:
            self._last_record = self._clock()
            for message in messages:
                if message.error() is None:
                    self._next[(message.topic(), message.partition())] = message.offset() + 1
        return messages

    def _pause(self, now: float) -> None:
        held = self._held()
        partitions = [tp for tp in self._consumer.assignment() if tp.partition not in held]
        self._paused = partitions
        if partitions:
            self._consumer.pause(partitions)
        self._next_probe = now + self._probe_every

    def _resume(self) -> None:
        partitions, self._paused = self._paused, []
        held = self._held()
        partitions = [tp for tp in partitions if tp.partition not in held]
        if not partitions:
            return
        self._consumer.resume(partitions)
        self._seek(partitions)
        self._refresh_never_read(partitions)

    def _refresh_never_read(self, partitions: list[TopicPartition]) -> None:
        """A partition never read since it was assigned fetches only after a metadata
        refresh: ask for one now rather than stall (module doc)."""
        for topic in sorted({tp.topic for tp in partitions
                             if (tp.topic, tp.partition) not in self._next}):
            try:
                self._consumer.list_topics(topic, timeout=1.0)
            except KafkaException:  # the next probe asks again
                pass

    def _seek(self, partitions: list[TopicPartition]) -> None:
        for tp in partitions:  # seek to where it was, else the fetch stalls
            offset = self._next.get((tp.topic, tp.partition), -1)
            if offset >= 0:
                try:
                    self._consumer.seek(TopicPartition(tp.topic, tp.partition, offset))
                except KafkaException:  # revoked meanwhile: the next assignment starts afresh
                    pass
