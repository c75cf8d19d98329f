"""The KV store every service shares: writes go to the `kv` topic through the confirming
producer, reads come from this process's `KvTable`, and a write returns only once the
table has read it (read-your-writes).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.producer import ConfirmingProducer, DeliveryFailed
from ostinato.kv.entries import KvEntry, entry_record, record_key
from ostinato.kv.table import KvTable
from ostinato.kv.values import KvError, TypedValue, check_size, validate_key
from ostinato.wire.codec import Codec


class KvUnavailable(RuntimeError):
    """The KV store could not write (the broker did not confirm, or this process's table did
    not read the write back in time)."""


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class KvStore:
    """Typed, expiring values by (tenant, namespace, key), shared through Kafka."""

    def __init__(self, settings: KafkaSettings, codec: Codec, *, timeout: float = 10.0,
                 clock: Callable[[], datetime] = _utc_now, table: KvTable | None = None) -> None:
        self._codec = codec
        self._timeout = timeout
        self._clock = clock
        self.table = table or KvTable(settings, codec)
        self._producer = ConfirmingProducer(settings)

    def start(self) -> None:
        self.table.start()

    def close(self) -> None:
        self.table.stop()
        self._producer.close(5)

    @property
    def ready(self) -> bool:
        return self.table.caught_up

    def _wait_ready(self) -> None:
        if not self.table.wait_caught_up(self._timeout):
            raise KvUnavailable(f"the KV store was not read to its end within {self._timeout} s")

    # ------------------------------------------------------------------ reads

    def get(self, tenant_id: str | None, namespace: str, key: str) -> KvEntry | None:
        """The live entry of a key; None when missing or expired. An expired entry is not
        deleted here: a tombstone written now could land after a new value of the key that
        another writer sets meanwhile, and delete it."""
        validate_key(key)
        self._wait_ready()
        entry = self.table.get((tenant_id, namespace, key))
        if entry is None or entry.expired(self._clock()):
            return None
        return entry

    def list(self, tenant_id: str | None, namespace: str) -> list[KvEntry]:
        """The live entries of a namespace, by key."""
        self._wait_ready()
        now = self._clock()
        return [e for e in self.table.entries(tenant_id, namespace) if not e.expired(now)]

    # ------------------------------------------------------------------ writes

    def put(self, tenant_id: str | None, namespace: str, key: str, value: TypedValue, *,
            ttl: timedelta | None = None, overwrite: bool = True) -> KvEntry:
        """Set a key; returns the entry once this process's table has read it. KvError for a
        bad key or value, or a key that exists when `overwrite` is false."""
        validate_key(key)
        check_size(value)
        existing = self.get(tenant_id, namespace, key)
        if existing is not None and not overwrite:
            raise KvError(f"Cannot set value for key '{key}'. Key already exists and "
                          "`overwrite` is set to `false`.")
        now = self._clock()
        entry = KvEntry(tenant_id, namespace, key, value.type, value.value,
                        created=existing.created if existing is not None else now, updated=now,
                        expiration=None if ttl is None else now + ttl)
        self._write(record_key(tenant_id, namespace, key),
                    self._codec.encode("KeyValue", entry_record(entry)))
        return entry

    def delete(self, tenant_id: str | None, namespace: str, key: str) -> bool:
        """Delete a key (a tombstone on `kv`); whether it had a live value."""
        existed = self.get(tenant_id, namespace, key) is not None
        if existed:
            self._write(record_key(tenant_id, namespace, key), None)
        return existed

    def _write(self, key: str, value: bytes | None) -> None:
        try:
            delivery = self._producer.send_and_confirm("kv", key, value, timeout=self._timeout)
        except DeliveryFailed as error:
            raise KvUnavailable(f"the KV entry could not be written: {error}") from error
        if not self.table.wait_read(delivery.offset, self._timeout):
            raise KvUnavailable(f"the kv topic was not read up to offset {delivery.offset} "
                                f"within {self._timeout} s")


def value_of(entry: KvEntry | None) -> Any:
    """The value of an entry (None for none), as flows and `kv()` see it."""
    return None if entry is None else entry.value
