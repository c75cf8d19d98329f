"""`FlowRevision` records (topic `flows`)."""

from __future__ import annotations

from typing import Any

from ostinato.flow.revisions import FlowRevision
from ostinato.wire.records.common import instant


def flow_record(flow: FlowRevision) -> dict[str, Any]:
    """The `FlowRevision` record of a flow revision."""
    return {
        "tenantId": flow.tenant_id,
        "namespace": flow.namespace,
        "id": flow.id,
        "revision": flow.revision,
        "source": flow.source,
        "deleted": flow.deleted,
        "updated": instant(flow.updated),
    }


def flow_from_record(record: dict[str, Any]) -> FlowRevision:
    """The flow revision of a `FlowRevision` record."""
    return FlowRevision(
        namespace=record["namespace"], id=record["id"], revision=record["revision"],
        source=record["source"], updated=record["updated"], tenant_id=record["tenantId"],
        deleted=record["deleted"],
    )
