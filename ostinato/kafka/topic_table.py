"""A one-partition topic materialised in memory: read from the beginning, then followed.

The flow table (`flows`) and the KV table (`kv`) are both this: a background reader that
applies each record under a lock, knows the next offset it will read (`position`, so a
writer can wait until its own record has been applied: read-your-writes), and says when it
has reached the end the topic had at start. Subclasses say what a record means (`_read`);
a record they cannot use is dead-lettered by them and still counts as read (`_advance`).
"""

from __future__ import annotations

import threading

from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.dead_letters import DeadLetters
from ostinato.kafka.follower import Follower
from ostinato.kafka.messages import Received
from ostinato.kafka.producer import ConfirmingProducer
from ostinato.management import start_service_thread
from ostinato.wire.codec import Codec


class TopicTable:
    """Partition 0 of `topic` read in a thread named `reader` (its /health name too)."""

    def __init__(self, settings: KafkaSettings, codec: Codec, *, topic: str, reader: str) -> None:
        self._settings = settings
        self._codec = codec
        self._topic = topic
        self._reader = reader
        self._lock = threading.Condition()
        #: the next offset of the topic to read: every record before it has been applied
        self.position = 0
        self._caught_up = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = start_service_thread(self._reader, self._follow)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def wait_caught_up(self, timeout: float) -> bool:
        """True once every record present at start has been read."""
        return self._caught_up.wait(timeout)

    @property
    def caught_up(self) -> bool:
        return self._caught_up.is_set()

    def wait_read(self, offset: int, timeout: float) -> bool:
        """Wait until the record at `offset` has been read (and applied or not)."""
        with self._lock:
            return self._lock.wait_for(lambda: self.position > offset, timeout)

    def _advance(self, offset: int) -> None:
        """Count the record at `offset` as read (call it holding the lock or not)."""
        with self._lock:
            self.position = max(self.position, offset + 1)
            self._lock.notify_all()

    def _read(self, received: Received, dead_letters: DeadLetters) -> None:
        """Apply one record; it must end in `_advance(received.offset)` one way or another."""
        raise NotImplementedError

    def _follow(self) -> None:
        # an explicit offset: OFFSET_BEGINNING costs 0.5 s
        follower = Follower(self._settings, {(self._topic, 0): 0})
        producer = ConfirmingProducer(self._settings)
        dead_letters = DeadLetters(producer, self._codec, reader=self._reader)
        try:
            while not self._stop.is_set():
                for received in follower.poll(500, 0.1):
                    self._read(received, dead_letters)
                if follower.reached_end:
                    self._caught_up.set()
        finally:
            follower.close()
            producer.close(5)
