"""Bytes written to each of ostinato's topics while something ran.

A `TopicMeter` follows every partition of every topic from offset 0 (one `Follower`) and
sums, per topic, the key and value bytes of the records it read back. `settle()` reads until
the topics have been quiet for a moment and returns the totals so far; the difference of two
totals is what was written in between. The embedded broker's high watermark is not its end
(DESIGN.md, "Running it"), so "the end" here is "nothing new for `quiet` seconds". The
`services` topic (each service's heartbeat, about one a second in all) is not read: it is
written whatever runs, and would never let the topics go quiet.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ostinato.kafka.config import TOPIC_POLICIES, KafkaSettings
from ostinato.kafka.follower import Follower

#: written on a timer, not by what runs
UNMETERED = {"services"}


@dataclass
class Totals:
    """Per topic: key + value bytes and records read."""

    bytes: dict[str, int] = field(default_factory=dict)
    records: dict[str, int] = field(default_factory=dict)

    def minus(self, earlier: Totals) -> Totals:
        return Totals({t: n - earlier.bytes.get(t, 0) for t, n in self.bytes.items()},
                      {t: n - earlier.records.get(t, 0) for t, n in self.records.items()})


class TopicMeter:
    def __init__(self, settings: KafkaSettings) -> None:
        topics = tuple(t for t in TOPIC_POLICIES if t not in UNMETERED)
        self._follower = Follower.of_topics(settings, topics, fetch_wait_ms=20)
        self._totals = Totals()

    def settle(self, quiet: float = 1.0, longest: float = 30.0) -> Totals:
        """Read until nothing new came for `quiet` s (at most `longest` s); the totals."""
        deadline = time.monotonic() + longest
        last_record = time.monotonic()
        while time.monotonic() - last_record < quiet and time.monotonic() < deadline:
            records = self._follower.poll(5000, 0.1)
            if records:
                last_record = time.monotonic()
            for received in records:
                topic = self._follower.short_topic(received)
                size = len(received.value or b"") + len((received.key or "").encode())
                self._totals.bytes[topic] = self._totals.bytes.get(topic, 0) + size
                self._totals.records[topic] = self._totals.records.get(topic, 0) + 1
        return Totals(dict(self._totals.bytes), dict(self._totals.records))

    def close(self) -> None:
        self._follower.close()
