"""The `kv` topic materialised: every live KV entry, read from the beginning, then followed.

Each service that reads the KV store (the worker for tasks and `kv()`, the API for its REST
paths) keeps one `KvTable`. The topic is compacted and has one partition, so every reader
sees the same order: the last record of a key is its value, a tombstone (no value) its
deletion. A writer waits until its own table has read the offset it wrote (`wait_read`),
so it reads its own writes. Expiry is applied when an entry is read, against the reader's
clock: an expired entry reads as missing (Kestra's TTL).
"""

from __future__ import annotations

import threading

from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.dead_letters import DeadLetters
from ostinato.kafka.follower import Follower
from ostinato.kafka.messages import Received
from ostinato.kafka.producer import ConfirmingProducer
from ostinato.logging import get_logger
from ostinato.management import start_service_thread
from ostinato.kv.entries import KvEntry, KvRef, entry_from_record, ref_of_record_key
from ostinato.wire.codec import Codec

log = get_logger(component="kv-table")


class KvTable:
    """Every entry of the `kv` topic; `start()` reads it in a background thread."""

    def __init__(self, settings: KafkaSettings, codec: Codec) -> None:
        self._settings = settings
        self._codec = codec
        self._entries: dict[KvRef, KvEntry] = {}
        self._lock = threading.Condition()
        #: the next offset of `kv` to read: every record before it has been applied
        self.position = 0
        self._caught_up = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = start_service_thread("kv-table", self._follow)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def wait_caught_up(self, timeout: float) -> bool:
        """True once every entry present at start has been read."""
        return self._caught_up.wait(timeout)

    @property
    def caught_up(self) -> bool:
        return self._caught_up.is_set()

    def wait_read(self, offset: int, timeout: float) -> bool:
        """Wait until the record at `offset` of `kv` has been applied."""
        with self._lock:
            return self._lock.wait_for(lambda: self.position > offset, timeout)

    def get(self, ref: KvRef) -> KvEntry | None:
        """The entry of `ref` (expired or not), None when there is none."""
        with self._lock:
            return self._entries.get(ref)

    def entries(self, tenant_id: str | None, namespace: str) -> list[KvEntry]:
        """Every entry of one namespace (expired ones included), by key."""
        with self._lock:
            found = [e for (t, ns, _), e in self._entries.items() if t == tenant_id and ns == namespace]
        return sorted(found, key=lambda e: e.key)

    def apply(self, ref: KvRef, entry: KvEntry | None, offset: int | None = None) -> None:
        """Set (or, with None, delete) the entry of `ref`, read at `offset`."""
        with self._lock:
            if entry is None:
                self._entries.pop(ref, None)
            else:
                self._entries[ref] = entry
            if offset is not None:
                self.position = max(self.position, offset + 1)
            self._lock.notify_all()

    def _follow(self) -> None:
        # an explicit offset: OFFSET_BEGINNING costs 0.5 s
        follower = Follower(self._settings, {("kv", 0): 0}, fetch_wait_ms=5)
        producer = ConfirmingProducer(self._settings)
        dead_letters = DeadLetters(producer, self._codec, reader="kv-table")
        try:
            while not self._stop.is_set():
                for received in follower.poll(500, 0.1):
                    self._read(received, dead_letters)
                if follower.reached_end:
                    self._caught_up.set()
        finally:
            follower.close()
            producer.close(5)

    def _read(self, received: Received, dead_letters: DeadLetters) -> None:
        try:
            ref = ref_of_record_key(received.key or "")
        except ValueError:
            dead_letters.send(received, f"not a KV record key (tenant/namespace/key): {received.key!r}")
            self._advance(received.offset)
            return
        if received.value is None:  # a tombstone: the key was deleted
            self.apply(ref, None, received.offset)
            return
        decoded = dead_letters.decode(received, expected="KeyValue")
        entry = None
        if decoded is not None:
            try:
                entry = entry_from_record(decoded[1])
            except (ValueError, KeyError, TypeError) as error:
                dead_letters.send(received, f"not a KV entry: {error!r}")
        if entry is None:
            self._advance(received.offset)
            return
        self.apply(ref, entry, received.offset)

    def _advance(self, offset: int) -> None:
        """A record that changes nothing (dead-lettered) is read all the same."""
        with self._lock:
            self.position = max(self.position, offset + 1)
            self._lock.notify_all()
