"""`TriggerEvent` records (topic `triggers`)."""

from __future__ import annotations

from typing import Any

from ostinato.triggers.events import TriggerEvent
from ostinato.wire.records.common import (
    from_json,
    instant,
    labels_from_record,
    labels_record,
    to_json,
)


def trigger_event_record(event: TriggerEvent) -> dict[str, Any]:
    """The `TriggerEvent` record of a request to start a flow."""
    return {
        "tenantId": event.tenant_id,
        "namespace": event.namespace,
        "flowId": event.flow_id,
        "inputsJson": to_json(event.inputs),
        "labels": labels_record(event.labels),
        "dedupKey": event.dedup_key,
        "at": instant(event.at),
    }


def trigger_event_from_record(record: dict[str, Any]) -> TriggerEvent:
    """The request of a `TriggerEvent` record."""
    return TriggerEvent(
        namespace=record["namespace"], flow_id=record["flowId"], at=record["at"],
        inputs=from_json(record["inputsJson"]), labels=labels_from_record(record["labels"]),
        tenant_id=record["tenantId"], dedup_key=record["dedupKey"],
    )
