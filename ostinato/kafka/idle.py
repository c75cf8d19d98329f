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
from ostinato.kafka.rescue import StuckReader

#: seconds without a record before a hot consumer goes quiet
IDLE_AFTER_SECONDS = 2.0
#: how often a quiet consumer looks for records (the first record's added latency, at most)
PROBE_EVERY_SECONDS = 0.1
#: how long one probe reads (a few fetch round trips)
PROBE_FOR_SECONDS = 0.01
#: every so often a quiet consumer probes for longer: a probe gives up on a fetch slower than
#: its window, and a broker busy enough to be that slow must not keep records unread for ever
LONG_PROBE_EVERY_SECONDS = 2.0
LONG_PROBE_FOR_SECONDS = 0.25


class IdleThrottle:
    """`consume` is `consume_ready` for one consumer, quiet when idle. `held()` names the
    partitions the caller itself keeps paused (they are left alone)."""

    def __init__(self, consumer: Any, *, held: Callable[[], set[int]] = set,
                 idle_after: float = IDLE_AFTER_SECONDS, probe_every: float = PROBE_EVERY_SECONDS,
                 probe_for: float = PROBE_FOR_SECONDS,
                 clock: Callable[[], float] = time.monotonic,
                 rescue: StuckReader | None = None) -> None:
        """`rescue` reads what the consumer's own fetches cannot get (rescue.py)."""
        self._consumer = consumer
        self._rescue = rescue
        self._held = held
        self._idle_after = idle_after
        self._probe_every = probe_every
        self._probe_for = probe_for
        self._clock = clock
        #: when the reads started to find nothing (None: the last read found records)
        self._empty_since: float | None = None
        self._next_long_probe = 0.0
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
            self._empty_since = None
        if not self._paused:
            return self._read_awake(max_messages, timeout, busy)
        if now < self._next_probe:
            time.sleep(min(timeout, self._next_probe - now))
            return []
        self._resume()
        window = self._probe_for
        if now >= self._next_long_probe:  # liveness: a probe long enough for a slow fetch
            window, self._next_long_probe = LONG_PROBE_FOR_SECONDS, now + LONG_PROBE_EVERY_SECONDS
        messages = self._read(max_messages, window) or self._rescued(max_messages)
        if messages or busy:
            self._empty_since = None
        else:
            self._pause(self._clock())
        return messages

    def _read_awake(self, max_messages: int, timeout: float, busy: bool) -> list[Any]:
        """A read while awake; it goes quiet only after its reads found nothing for
        `idle_after` seconds, never for time the caller spent elsewhere (a long batch):
        a fetch after a resume can take longer than a probe on a busy broker."""
        started = self._clock()
        messages = self._read(max_messages, timeout)
        if not messages and self._empty_since is not None:
            messages = self._rescued(max_messages)
        if messages or busy:
            self._empty_since = None
            return messages
        if self._empty_since is None:
            self._empty_since = started
        elif self._clock() - self._empty_since >= self._idle_after:
            self._pause(self._clock())
        return messages

    def forget(self, partitions: list[TopicPartition]) -> None:
        """Partitions revoked: they are no longer this throttle's to resume."""
        gone = {(tp.topic, tp.partition) for tp in partitions}
        self._paused = [tp for tp in self._paused if (tp.topic, tp.partition) not in gone]
        for key in gone:
            self._next.pop(key, None)

    def _rescued(self, max_messages: int) -> list[Any]:
        if self._rescue is None:
            return []
        messages = self._rescue.read(self._next, self._held(), max_messages)
        for message in messages:
            self._next[(message.topic(), message.partition())] = message.offset() + 1
        return messages

    def _read(self, max_messages: int, timeout: float) -> list[Any]:
        messages = consume_ready(self._consumer, max_messages, timeout)
        if messages:
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
