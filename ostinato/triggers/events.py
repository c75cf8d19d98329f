"""A request to start a flow (topic `triggers`), and its key (record: `ostinato.wire`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class TriggerEvent:
    """A request to start a flow, published on `triggers` by a user or a system."""

    namespace: str
    flow_id: str
    at: datetime
    inputs: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, Any] = field(default_factory=dict)
    tenant_id: str | None = None
    dedup_key: str | None = None

    @property
    def key(self) -> str:
        """The request's key on `triggers` (`trigger_key`)."""
        return trigger_key(self.tenant_id, self.namespace, self.flow_id)


def trigger_key(tenant_id: str | None, namespace: str, flow_id: str) -> str:
    """The key on `triggers`: `tenant/namespace/flowId` (tenant empty when none)."""
    return f"{tenant_id or ''}/{namespace}/{flow_id}"
