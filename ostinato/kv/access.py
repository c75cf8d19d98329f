"""What a task sees of the KV store, and an in-memory store for runs without Kafka.

`KvAccess` is the face of `ostinato.kv.store.KvStore` that runners and the `kv()` function
use; `MemoryKv` implements it in one process (the in-process driver, unit tests).
`KvClient` binds it to one execution's tenant and flow namespace.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from ostinato.kv.entries import KvEntry, KvRef
from ostinato.kv.values import KvError, TypedValue, check_size, validate_key


class KvAccess(Protocol):
    """Typed, expiring values by (tenant, namespace, key)."""

    def get(self, tenant_id: str | None, namespace: str, key: str) -> KvEntry | None:
        """The live entry (None when missing or expired)."""
        ...

    def list(self, tenant_id: str | None, namespace: str) -> list[KvEntry]:
        """The live entries of a namespace, by key."""
        ...

    def put(self, tenant_id: str | None, namespace: str, key: str, value: TypedValue, *,
            ttl: timedelta | None = None, overwrite: bool = True) -> KvEntry:
        """Set a key (KvError when it exists and `overwrite` is false)."""
        ...

    def delete(self, tenant_id: str | None, namespace: str, key: str) -> bool:
        """Delete a key; whether it had a live value."""
        ...


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class MemoryKv:
    """`KvAccess` in one process's memory."""

    def __init__(self, clock: Callable[[], datetime] = _utc_now) -> None:
        self._clock = clock
        self._entries: dict[KvRef, KvEntry] = {}
        self._lock = threading.Lock()

    def get(self, tenant_id: str | None, namespace: str, key: str) -> KvEntry | None:
        validate_key(key)
        with self._lock:
            entry = self._entries.get((tenant_id, namespace, key))
        return None if entry is None or entry.expired(self._clock()) else entry

    def list(self, tenant_id: str | None, namespace: str) -> list[KvEntry]:
        now = self._clock()
        with self._lock:
            found = [e for (t, ns, _), e in self._entries.items()
                     if t == tenant_id and ns == namespace and not e.expired(now)]
        return sorted(found, key=lambda e: e.key)

    def put(self, tenant_id: str | None, namespace: str, key: str, value: TypedValue, *,
            ttl: timedelta | None = None, overwrite: bool = True) -> KvEntry:
        validate_key(key)
        check_size(value)
        existing = self.get(tenant_id, namespace, key)
        if existing is not None and not overwrite:
            raise KvError(f"Cannot set value for key '{key}'. Key already exists and "
                          "`overwrite` is set to `false`.")
        now = self._clock()
        entry = KvEntry(tenant_id, namespace, key, value.type, value.value,
                        created=existing.created if existing else now, updated=now,
                        expiration=None if ttl is None else now + ttl)
        with self._lock:
            self._entries[entry.ref] = entry
        return entry

    def delete(self, tenant_id: str | None, namespace: str, key: str) -> bool:
        existed = self.get(tenant_id, namespace, key) is not None
        with self._lock:
            self._entries.pop((tenant_id, namespace, key), None)
        return existed


@dataclass(frozen=True)
class KvClient:
    """The KV store as one execution uses it: its tenant, its flow's namespace by default."""

    store: KvAccess
    tenant_id: str | None
    flow_namespace: str

    def namespace(self, namespace: Any) -> str:
        """The namespace a task or `kv()` names, the flow's when none."""
        if namespace is None or namespace == "":
            return self.flow_namespace
        return str(namespace)

    def function(self, key: Any, namespace: Any = None, error_on_missing: Any = True) -> Any:
        """Kestra's `kv(key, namespace, errorOnMissing)`: the value, or None when missing
        and `errorOnMissing` is false; KvError naming the key and namespace otherwise."""
        if not isinstance(key, str) or not key:
            raise KvError("The 'kv' function expects an argument 'key'.")
        target = self.namespace(namespace)
        entry = self.store.get(self.tenant_id, target, key)
        if entry is None:
            if error_on_missing is True or str(error_on_missing).lower() == "true":
                raise KvError(f"The key '{key}' does not exist in the namespace '{target}'.")
            return None
        return entry.value
