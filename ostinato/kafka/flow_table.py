"""Every flow revision, materialised from the `flows` topic by a background reader.

Services look flows up by (tenant, namespace, id, revision). A revision that has not
arrived yet is not an error: callers wait for it, bounded (DESIGN.md, invariant 7).

The topic is the arbiter of revision numbers. It has one partition, so every reader sees
the same order, and every reader applies the same rule: a record is accepted only if its
revision is above the latest accepted one of its flow. Two writers that claim the same
number concurrently (two API replicas) therefore agree on one winner, the first on the log;
the loser sees that its record was not accepted and claims the next number
(`ostinato/kafka/flow_writer.py`). The topic is append-only (never compacted), so the
first record stays the winner forever.

Every process reads the whole topic, so each one dead-letters a record it cannot decode
(the letters of one record are duplicates, which `dead_letters.py` accepts). A revision
whose source no longer parses (written by an older version) is logged once and left out
of `latest_flows`: it stops that flow, never the reader or the other flows.
"""

from __future__ import annotations

from dataclasses import dataclass

from ostinato.flow.model import Flow
from ostinato.flow.parser import FlowValidationError, parse_flow
from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.dead_letters import DeadLetters
from ostinato.kafka.messages import Received
from ostinato.kafka.topic_table import TopicTable
from ostinato.logging import get_logger
from ostinato.wire.codec import Codec
from ostinato.wire.records import FlowRevision, flow_from_record

log = get_logger(component="flow-table")

FlowRef = tuple[str | None, str, str]


@dataclass
class _Entry:
    revision: FlowRevision
    flow: Flow | None = None
    #: offset of the accepted record on `flows` (None: added locally, not read yet)
    offset: int | None = None
    #: why the source does not parse (logged once), when it does not
    broken: str | None = None


class FlowTable(TopicTable):
    """The flows topic read from the beginning, then followed."""

    def __init__(self, settings: KafkaSettings, codec: Codec) -> None:
        super().__init__(settings, codec, topic="flows", reader="flow-table")
        self._revisions: dict[FlowRef, dict[int, _Entry]] = {}
        self.version = 0

    def get(self, namespace: str, flow_id: str, revision: int | None = None,
            tenant_id: str | None = None) -> Flow | None:
        """A flow revision (the latest when `revision` is None), or None if not known (yet)."""
        with self._lock:
            revisions = self._revisions.get((tenant_id, namespace, flow_id))
            if not revisions:
                return None
            number = max(revisions) if revision is None else revision
            entry = revisions.get(number)
            if entry is None or (revision is None and entry.revision.deleted):
                return None
        if entry.flow is None:
            entry.flow = _parse(entry.revision)
        return entry.flow

    def latest_flows(self) -> list[Flow]:
        """The latest revision of every flow that is not deleted (parsed once each)."""
        with self._lock:
            entries = [revisions[max(revisions)] for revisions in self._revisions.values()]
        out = []
        for entry in entries:
            if entry.revision.deleted or entry.broken is not None:
                continue
            if entry.flow is None:
                try:
                    entry.flow = _parse(entry.revision)
                except ValueError as error:
                    entry.broken = str(error)
                    log.error("flow revision no longer parses: left out", reason=entry.broken,
                              flow=f"{entry.revision.namespace}.{entry.revision.id}",
                              revision=entry.revision.revision)
                    continue
            out.append(entry.flow)
        return out

    def latest_revision(self, namespace: str, flow_id: str, tenant_id: str | None = None) -> FlowRevision | None:
        with self._lock:
            revisions = self._revisions.get((tenant_id, namespace, flow_id))
            return revisions[max(revisions)].revision if revisions else None

    def revisions(self, namespace: str, flow_id: str, tenant_id: str | None = None) -> list[FlowRevision]:
        """Every accepted revision of a flow, oldest first (deletions included)."""
        with self._lock:
            revisions = self._revisions.get((tenant_id, namespace, flow_id)) or {}
            return [revisions[n].revision for n in sorted(revisions)]

    def latest_revisions(self) -> list[FlowRevision]:
        """The latest accepted revision of every flow ever written (deleted ones included)."""
        with self._lock:
            return [revisions[max(revisions)].revision for revisions in self._revisions.values()]

    def accepted_offset(self, namespace: str, flow_id: str, revision: int,
                        tenant_id: str | None = None) -> int | None:
        """The offset of the record that won `revision` of a flow, if it has been read."""
        with self._lock:
            entry = (self._revisions.get((tenant_id, namespace, flow_id)) or {}).get(revision)
            return None if entry is None else entry.offset

    def add(self, revision: FlowRevision, offset: int | None = None) -> bool:
        """Apply a revision if its number is above the flow's latest (the rule every reader
        applies, see the module doc); returns whether it was accepted."""
        with self._lock:
            if offset is not None:
                self.position = max(self.position, offset + 1)
                self._lock.notify_all()
            key = (revision.tenant_id, revision.namespace, revision.id)
            revisions = self._revisions.setdefault(key, {})
            if revisions and revision.revision <= max(revisions):
                return False
            revisions[revision.revision] = _Entry(revision, offset=offset)
            self.version += 1
            return True

    def _read(self, received: Received, dead_letters: DeadLetters) -> None:
        offset = received.offset
        decoded = dead_letters.decode(received, expected="Flow")
        revision = None
        if decoded is not None:
            try:
                revision = flow_from_record(decoded[1])
            except (ValueError, KeyError, TypeError) as error:
                dead_letters.send(received, f"not a flow revision: {error!r}")
        if revision is None:
            self._advance(offset)
            return
        if not self.add(revision, offset):
            log.info("flow revision already taken by an earlier record, ignored",
                     flow=f"{revision.namespace}.{revision.id}", revision=revision.revision,
                     offset=offset)


def _parse(revision: FlowRevision) -> Flow:
    try:
        flow = parse_flow(revision.source)
    except (FlowValidationError, ValueError) as error:  # validated when deployed: an old writer
        raise ValueError(f"flow {revision.namespace}.{revision.id} revision {revision.revision} "
                         f"no longer parses: {error}") from error
    flow.revision = revision.revision
    flow.tenant_id = revision.tenant_id
    return flow
