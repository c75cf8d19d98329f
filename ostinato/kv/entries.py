"""A KV entry, its record on the `kv` topic and its record key (pure: no Kafka)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ostinato.wire.records.common import from_json, instant, opt_instant, text_of_instant, to_json

#: (tenant id or None, namespace, key)
KvRef = tuple[str | None, str, str]


@dataclass(frozen=True)
class KvEntry:
    """One KV entry as the store keeps it."""

    tenant_id: str | None
    namespace: str
    key: str
    type: str
    value: Any
    created: datetime
    updated: datetime
    expiration: datetime | None = None

    @property
    def ref(self) -> KvRef:
        return (self.tenant_id, self.namespace, self.key)

    def expired(self, now: datetime) -> bool:
        """Whether the entry's TTL has passed at `now`."""
        return self.expiration is not None and self.expiration <= now

    def listing(self) -> dict[str, Any]:
        """Kestra's `KVEntry` JSON (the items of `GET .../kv`)."""
        return {"key": self.key, "creationDate": text_of_instant(self.created),
                "updateDate": text_of_instant(self.updated),
                "expirationDate": (None if self.expiration is None
                                   else text_of_instant(self.expiration))}


def record_key(tenant_id: str | None, namespace: str, key: str) -> str:
    """The record key on `kv`: `tenant/namespace/key` (tenant empty when none)."""
    return f"{tenant_id or ''}/{namespace}/{key}"


def ref_of_record_key(text: str) -> KvRef:
    """The reference of a record key (ValueError when it is not `tenant/namespace/key`)."""
    tenant, namespace, key = text.split("/", 2)
    return (tenant or None, namespace, key)


def entry_record(entry: KvEntry) -> dict[str, Any]:
    """The `KeyValue` record of an entry."""
    return {"tenantId": entry.tenant_id, "namespace": entry.namespace, "key": entry.key,
            "type": entry.type, "valueJson": to_json(entry.value),
            "created": instant(entry.created), "updated": instant(entry.updated),
            "expirationDate": opt_instant(entry.expiration)}


def entry_from_record(record: dict[str, Any]) -> KvEntry:
    """The entry of a `KeyValue` record."""
    return KvEntry(tenant_id=record["tenantId"], namespace=record["namespace"],
                   key=record["key"], type=record["type"], value=from_json(record["valueJson"]),
                   created=record["created"], updated=record["updated"],
                   expiration=record.get("expirationDate"))
