"""Bounded waits for flow revisions that have not reached the flow table yet (DESIGN.md,
invariant 7): the partition is paused at the record, and read again when a flow arrives
or the wait runs out."""

from __future__ import annotations

import time
from typing import Any

from confluent_kafka import TopicPartition

from ostinato.kafka.flow_table import FlowTable
from ostinato.kafka.messages import Received


class FlowWaits:
    def __init__(self, consumer: Any, flows: FlowTable, wait_seconds: float) -> None:
        self._consumer = consumer
        self._flows = flows
        self.wait_seconds = wait_seconds
        self._deadlines: dict[tuple[int, int], float] = {}
        #: paused partition -> the flow table's version when it was paused
        self._paused: dict[int, int] = {}

    def held(self) -> set[int]:
        """The partitions paused here, waiting for a flow."""
        return set(self._paused)

    def hold(self, message: Received) -> bool:
        """Pause the record's partition at the record and say True, unless its wait has run
        out (then False: the caller gives up on the flow)."""
        where = (message.partition, message.offset)
        deadline = self._deadlines.setdefault(where, time.monotonic() + self.wait_seconds)
        if time.monotonic() >= deadline:
            del self._deadlines[where]
            return False
        tp = TopicPartition(message.topic, message.partition, message.offset)
        self._consumer.pause([tp])
        self._consumer.seek(tp)
        self._paused[message.partition] = self._flows.version
        return True

    def resume_due(self, topic: str) -> None:
        """Read paused partitions again when a flow arrived or a wait ran out."""
        if not self._paused:
            return
        now = time.monotonic()
        due = [p for p, version in self._paused.items()
               if version != self._flows.version
               or any(d <= now for (wp, _), d in self._deadlines.items() if wp == p)]
        if due:
            self._consumer.resume([TopicPartition(topic, p) for p in due])
            for p in due:
                del self._paused[p]
