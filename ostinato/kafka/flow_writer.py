"""Saving and deleting flows with revision numbers that stay right with several writers.

A writer claims the next revision in its flow table, produces it, reads `flows` up to its
own record and checks that the record won (the table applies the first-record-wins rule,
see flow_table.py). If another writer took the number first, it claims the next one.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timezone

from ostinato.flow.model import Flow
from ostinato.flow.parser import parse_flow
from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.flow_table import FlowTable
from ostinato.kafka.producer import ConfirmingProducer, DeliveryFailed
from ostinato.wire import records as rec
from ostinato.wire.codec import Codec

ATTEMPTS = 8


class FlowWriteError(RuntimeError):
    """The revision could not be written (Kafka unreachable, or too many concurrent writers)."""


@dataclass(frozen=True)
class Saved:
    flow: Flow
    revision: rec.FlowRevision
    #: False when the source equals the latest revision's: nothing was written
    created: bool


class FlowWriter:
    def __init__(self, settings: KafkaSettings, codec: Codec, table: FlowTable, *,
                 timeout: float = 10.0) -> None:
        self._settings = settings
        self._codec = codec
        self._table = table
        self._timeout = timeout
        self._producer = ConfirmingProducer(settings)
        #: one claim at a time per writer: flows change rarely, and delivery reports stay simple
        self._lock = threading.Lock()

    def close(self) -> None:
        self._producer.close(5)

    def save(self, source: str, *, tenant_id: str | None = None) -> Saved:
        """Validate (raises FlowValidationError) and write a new revision unless unchanged."""
        flow = parse_flow(source)
        for _ in range(ATTEMPTS):
            current = self._table.latest_revision(flow.namespace, flow.id, tenant_id)
            if current is not None and not current.deleted and current.source == source:
                flow.revision = current.revision
                return Saved(flow, current, created=False)
            number = current.revision + 1 if current else 1
            written = self._claim(rec.FlowRevision(
                namespace=flow.namespace, id=flow.id, revision=number, source=source,
                updated=datetime.now(timezone.utc), tenant_id=tenant_id))
            if written is not None:
                flow.revision = number
                return Saved(flow, written, created=True)
        raise FlowWriteError(f"flow {flow.namespace}.{flow.id}: {ATTEMPTS} concurrent writers "
                             "took every revision this writer claimed; try again")

    def delete(self, namespace: str, flow_id: str, *, tenant_id: str | None = None) -> rec.FlowRevision | None:
        """Write a deletion revision; None when the flow does not exist (or is deleted)."""
        for _ in range(ATTEMPTS):
            current = self._table.latest_revision(namespace, flow_id, tenant_id)
            if current is None or current.deleted:
                return None
            written = self._claim(rec.FlowRevision(
                namespace=namespace, id=flow_id, revision=current.revision + 1,
                source=current.source, updated=datetime.now(timezone.utc), tenant_id=tenant_id,
                deleted=True))
            if written is not None:
                return written
        raise FlowWriteError(f"flow {namespace}.{flow_id}: {ATTEMPTS} concurrent writers "
                             "took every revision this writer claimed; try again")

    def _claim(self, revision: rec.FlowRevision) -> rec.FlowRevision | None:
        """Produce `revision`; return it if it won its number, None if another record did."""
        with self._lock:
            return self._claim_alone(revision)

    def _claim_alone(self, revision: rec.FlowRevision) -> rec.FlowRevision | None:
        try:
            delivery = self._producer.send_and_confirm(
                "flows", revision.key, self._codec.encode("Flow", rec.flow_record(revision)),
                timeout=self._timeout)
        except DeliveryFailed as error:
            raise FlowWriteError(f"the flow revision could not be written: {error}") from error
        offset = delivery.offset
        if not self._table.wait_read(offset, self._timeout):
            raise FlowWriteError(f"the flows topic was not read up to offset {offset} "
                                 f"within {self._timeout} s")
        won = self._table.accepted_offset(revision.namespace, revision.id, revision.revision,
                                          revision.tenant_id)
        return revision if won == offset else None
