"""A flow revision as the `flows` topic holds it, and its key (record: `ostinato.wire`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class FlowRevision:
    """A flow revision as the `flows` topic holds it: its YAML source."""

    namespace: str
    id: str
    revision: int
    source: str
    updated: datetime
    tenant_id: str | None = None
    deleted: bool = False

    @property
    def key(self) -> str:
        """The revision's key on `flows` (`flow_key`)."""
        return flow_key(self.tenant_id, self.namespace, self.id, self.revision)


def flow_key(tenant_id: str | None, namespace: str, flow_id: str, revision: int) -> str:
    """The key on `flows`: `tenant/namespace/flowId/revision` (tenant empty when none)."""
    return f"{tenant_id or ''}/{namespace}/{flow_id}/{revision}"
