"""Every flow revision, materialised from the `flows` topic by a background reader.

Services look flows up by (tenant, namespace, id, revision). A revision that has not
arrived yet is not an error: callers wait for it, bounded (DESIGN.md, invariant 7).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, TopicPartition

from ostinato.flow.model import Flow
from ostinato.flow.parser import FlowValidationError, parse_flow
from ostinato.kafka.config import KafkaSettings
from ostinato.logging import get_logger
from ostinato.wire.codec import Codec, MalformedRecord
from ostinato.wire.records import FlowRevision, flow_from_record

log = get_logger(component="flow-table")

FlowRef = tuple[str | None, str, str]


@dataclass
class _Entry:
    revision: FlowRevision
    flow: Flow | None = None


class FlowTable:
    """The flows topic read from the beginning, then followed."""

    def __init__(self, settings: KafkaSettings, codec: Codec) -> None:
        self._settings = settings
        self._codec = codec
        self._revisions: dict[FlowRef, dict[int, _Entry]] = {}
        self._lock = threading.Lock()
        self._caught_up = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.version = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._follow, name="flow-table", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def wait_caught_up(self, timeout: float) -> bool:
        """True once every flow present at start has been read."""
        return self._caught_up.wait(timeout)

    @property
    def caught_up(self) -> bool:
        return self._caught_up.is_set()

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
            if entry.revision.deleted:
                continue
            if entry.flow is None:
                entry.flow = _parse(entry.revision)
            out.append(entry.flow)
        return out

    def latest_revision(self, namespace: str, flow_id: str, tenant_id: str | None = None) -> FlowRevision | None:
        with self._lock:
            revisions = self._revisions.get((tenant_id, namespace, flow_id))
            return revisions[max(revisions)].revision if revisions else None

    def add(self, revision: FlowRevision) -> None:
        """Record a revision (the reader does this; a producer may too, for read-your-writes)."""
        with self._lock:
            key = (revision.tenant_id, revision.namespace, revision.id)
            self._revisions.setdefault(key, {})[revision.revision] = _Entry(revision)
            self.version += 1

    def _follow(self) -> None:
        consumer = Consumer(self._settings.consumer(None))
        topic = self._settings.topic("flows")
        consumer.assign([TopicPartition(topic, 0, 0)])  # an explicit offset: OFFSET_BEGINNING costs 0.5 s
        try:
            while not self._stop.is_set():
                message = consumer.poll(0.1)
                if message is None:
                    continue
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        self._caught_up.set()
                    else:
                        log.warning("flows topic read error", error=str(error))
                        time.sleep(0.2)
                    continue
                self._read(message.value())
        finally:
            consumer.close()

    def _read(self, value: bytes | None) -> None:
        if value is None:
            return
        try:
            _, record = self._codec.decode(value, expected="Flow")
        except MalformedRecord as error:
            log.error("malformed record on the flows topic, skipped", reason=error.reason)
            return
        self.add(flow_from_record(record))


def _parse(revision: FlowRevision) -> Flow:
    try:
        flow = parse_flow(revision.source)
    except FlowValidationError as error:  # validated before it was deployed: a bug or old writer
        raise ValueError(f"flow {revision.namespace}.{revision.id} revision {revision.revision} "
                         f"no longer parses: {error}") from error
    flow.revision = revision.revision
    return flow
