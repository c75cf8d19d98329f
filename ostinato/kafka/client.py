"""A client of the bus: deploy flows, request executions, follow them to their end.

What the CLI (and tools of users) do, by producing and consuming records only.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone
from typing import Any, Callable

from confluent_kafka import KafkaError

from ostinato.protocol import events as ev
from ostinato.protocol.ids import derived_id
from ostinato.execution.model import Execution
from ostinato.flow.model import Flow
from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.flow_table import FlowTable
from ostinato.kafka.flow_writer import FlowWriter
from ostinato.kafka.follower import Follower, Position, approximate_ends
from ostinato.kafka.messages import Received
from ostinato.kafka.producer import ConfirmingProducer
from ostinato.kafka.restore import read_partition_to_end
from ostinato.wire import records as rec
from ostinato.wire.codec import Codec, MalformedRecord


def new_execution_id() -> str:
    """A Kestra-shaped execution id (22 base62 characters)."""
    return derived_id(uuid.uuid4().hex)


class BusClient:
    def __init__(self, settings: KafkaSettings, codec: Codec) -> None:
        self.settings = settings
        self.codec = codec
        self._producer = ConfirmingProducer(settings)
        self._table: FlowTable | None = None
        self._writer: FlowWriter | None = None

    def close(self) -> None:
        self._producer.close(10)
        if self._writer is not None:
            self._writer.close()
        if self._table is not None:
            self._table.stop()

    # ---------------------------------------------------------------- flows

    def deployed_revisions(self) -> dict[tuple[str | None, str, str], rec.FlowRevision]:
        """The latest revision of every flow, read from the flows topic."""
        latest: dict[tuple[str | None, str, str], rec.FlowRevision] = {}

        def read(key: str, value: bytes | None, offset: int) -> None:
            if value is None:
                return
            try:
                _, record = self.codec.decode(value, expected="Flow")
            except MalformedRecord:
                return
            revision = rec.flow_from_record(record)
            ref = (revision.tenant_id, revision.namespace, revision.id)
            if ref not in latest or latest[ref].revision < revision.revision:
                latest[ref] = revision

        read_partition_to_end(self.settings, "flows", 0, 0, read)
        return latest

    def deploy(self, source: str, *, tenant_id: str | None = None) -> tuple[Flow, bool]:
        """Validate and publish a flow; an unchanged source makes no new revision. Revision
        numbers are claimed and checked on the topic (FlowWriter), so a concurrent writer
        (an API replica) never makes this one lose its revision.

        Returns the flow (with its revision) and whether a new revision was written.
        """
        saved = self._flow_writer().save(source, tenant_id=tenant_id)
        return saved.flow, saved.created

    def _flow_writer(self) -> FlowWriter:
        if self._writer is None:
            table = FlowTable(self.settings, self.codec)
            table.start()
            if not table.wait_caught_up(60):
                table.stop()
                raise TimeoutError("the flows topic could not be read to its end within 60 s")
            self._table, self._writer = table, FlowWriter(self.settings, self.codec, table)
        return self._writer

    # ---------------------------------------------------------------- executions

    def request(self, flow: Flow, inputs: dict[str, Any], *, execution_id: str,
                labels: dict[str, Any] | None = None) -> None:
        """Ask the executor to start an execution (inputs already typed)."""
        event = ev.ExecutionRequested(
            id=str(uuid.uuid4()), at=datetime.now(timezone.utc), execution_id=execution_id,
            namespace=flow.namespace, flow_id=flow.id, flow_revision=flow.revision or 1,
            tenant_id=flow.tenant_id, inputs=inputs, labels=dict(labels or {}))
        name, record = rec.event_to_record(event)
        self._producer.send_and_confirm("executor", execution_id, self.codec.encode(name, record))

    def follow(self, execution_id: str, *, on_change: Callable[[Execution], None],
               on_log: Callable[[rec.LogEntry], None] | None = None,
               timeout: float | None = None, start_offsets: dict[str, dict[int, int]] | None = None) -> Execution:
        """Read `executions` (and `logs`) until the execution is finished; call back on
        each change. Starts at `start_offsets` (per topic and partition) or at 0. A record
        that does not decode is skipped (the services dead-letter it; this is a user's tool)."""
        topics = ["executions"] + (["logs"] if on_log else [])
        start: dict[Position, int] = {(topic, p): offset
                                      for topic, offsets in (start_offsets or {}).items()
                                      for p, offset in offsets.items()}
        follower = Follower.of_topics(self.settings, topics, start, fetch_wait_ms=50)
        deadline = None if timeout is None else time.monotonic() + timeout
        view: Execution | None = None
        try:
            while deadline is None or time.monotonic() < deadline:
                for received in follower.poll(500, 0.05):
                    if received.value is None or rec.execution_id_of_key(received.key) != execution_id:
                        continue
                    view, final = self._follow_one(received, view, on_change, on_log)
                    if final and view is not None:
                        return view
            raise TimeoutError(f"execution {execution_id} did not finish within {timeout} s")
        finally:
            follower.close()

    def _follow_one(self, received: Received, view: Execution | None,
                    on_change: Callable[[Execution], None],
                    on_log: Callable[[rec.LogEntry], None] | None) -> tuple[Execution | None, bool]:
        """Apply one record of the followed execution; returns its view and whether it is
        the last (a finished execution is written as an `Execution`, or a large one as parts)."""
        try:
            name, record = self.codec.decode(received.value)
        except MalformedRecord:
            return view, False
        if name == "LogEntry" and on_log is not None:
            on_log(rec.log_entry_from_record(record))
        elif name == "Execution":  # whole, or one part of a large one
            view = rec.apply_execution_update(view, record)
            if rec.is_partial(record):
                return view, False
            on_change(view)
            return view, view.finished
        elif name == "ExecutionUpdate":
            view = rec.apply_execution_update(view, record)
            on_change(view)
        return view, False

    def end_offsets(self, topics: list[str]) -> dict[str, dict[int, int]]:
        """An offset per partition at or before its current end, to follow from.

        The high watermark: exact on Kafka; on the embedded broker it may be earlier than
        the end (DESIGN.md), which only means reading a few records more.
        """
        return {topic: approximate_ends(self.settings, topic) for topic in topics}


__all__ = ["BusClient", "KafkaError", "new_execution_id"]
