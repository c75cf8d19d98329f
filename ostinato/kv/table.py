"""The `kv` topic materialised: every live KV entry, read from the beginning, then followed.

Each service that reads the KV store (the worker for tasks and `kv()`, the API for its REST
paths) keeps one `KvTable`. The topic is compacted and has one partition, so every reader
sees the same order: the last record of a key is its value, a tombstone (no value) its
deletion. A writer waits until its own table has read the offset it wrote (`wait_read`),
so it reads its own writes. Expiry is applied when an entry is read, against the reader's
clock: an expired entry reads as missing (Kestra's TTL).
"""

from __future__ import annotations


from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.dead_letters import DeadLetters
from ostinato.kafka.messages import Received
from ostinato.kafka.topic_table import TopicTable
from ostinato.logging import get_logger
from ostinato.kv.entries import KvEntry, KvRef, entry_from_record, ref_of_record_key
from ostinato.wire.codec import Codec

log = get_logger(component="kv-table")


class KvTable(TopicTable):
    """Every entry of the `kv` topic; `start()` reads it in a background thread."""

    def __init__(self, settings: KafkaSettings, codec: Codec) -> None:
        super().__init__(settings, codec, topic="kv", reader="kv-table")
        self._entries: dict[KvRef, KvEntry] = {}

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
