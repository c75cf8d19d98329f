"""Schedule triggers in the scheduler: fire due occurrences, remember the last one.

The last fired occurrence of each trigger is written to the compacted `scheduler-state`
topic after the requests are confirmed, and mirrored in a local RocksDB store with the
changelog offset it has applied: a restart reads only the changelog's tail; occurrences missed while
no scheduler ran are recovered as the trigger says (`recoverMissedSchedules`). Replicas
need no coordination: an occurrence's execution id is derived from it, so the executor
starts it once however many times it is requested.

A trigger that fails (a cron with no next date, a bug) is disabled with an ERROR naming
the flow, the trigger and the reason, until its flow gets a new revision; the other
triggers keep firing (DESIGN.md, invariant 9).
"""

from __future__ import annotations

import math
import threading
import time
from datetime import datetime, timezone

from ostinato.expressions import ExpressionError
from ostinato.flow.inputs import type_inputs
from ostinato.flow.model import Flow
from ostinato.flow.triggers import Schedule
from ostinato.kafka.checkpoint import Checkpoint
from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.dead_letters import DeadLetters
from ostinato.kafka.flow_table import FlowTable
from ostinato.kafka.outbox import Outbox
from ostinato.kafka.producer import ConfirmingProducer
from ostinato.kafka.restore import read_partition_to_end
from ostinato.logging import get_logger
from ostinato.tracing import execution_root
from ostinato.tracing.attributes import request_attributes
from ostinato.management import start_service_thread
from ostinato.metrics.service import ServiceMetrics
from ostinato.store.triggers import TriggerStore
from ostinato.triggers.schedule import (
    conditions_hold, due, next_after, request_for, schedules, trigger_uid,
)
from ostinato.wire import records as rec
from ostinato.wire.codec import Codec, MalformedRecord

log = get_logger(component="schedules")

TICK_SECONDS = 0.1


class ScheduleTicker:
    def __init__(self, kafka: KafkaSettings, codec: Codec, flows: FlowTable, store: TriggerStore,
                 *, metrics: ServiceMetrics | None = None) -> None:
        self.kafka = kafka
        self.metrics = metrics
        self.codec = codec
        self.flows = flows
        self.store = store
        self.last: dict[str, datetime] = {}
        #: trigger uid -> (flow revision, reason) of a trigger that failed: skipped until
        #: its flow has another revision
        self.disabled: dict[str, tuple[int | None, str]] = {}
        self._producer = ConfirmingProducer(kafka)
        self._dead_letters = DeadLetters(self._producer, codec, reader="schedules")

    def start(self, stop: threading.Event) -> threading.Thread:
        return start_service_thread("schedules", self.run, stop)

    def restore(self) -> None:
        """The store, brought up to the end of the changelog, then loaded."""
        start = (self.store.changelog_offset() or -1) + 1
        tail: dict[str, bytes | None] = {}
        last_offset: list[int] = []

        def read(key: str, value: bytes | None, offset: int) -> None:
            if value is not None:
                self.codec.decode(value, expected="TriggerState")  # refuse it before storing it
            tail[key] = value
            last_offset[:] = [offset]

        count = read_partition_to_end(self.kafka, "scheduler-state", 0, start, read,
                                      dead_letters=self._dead_letters)
        self.store.write(tail, last_offset[0] if last_offset else None)
        for value in self.store.states():
            try:
                _, record = self.codec.decode(value, expected="TriggerState")
            except MalformedRecord as error:  # stored by an older version: start it afresh
                log.error("stored trigger state unreadable, ignored", reason=error.reason)
                continue
            self.last[record["uid"]] = record["lastFire"]
        log.info("schedule state restored", triggers=len(self.last), changelog_read=count)

    def run(self, stop: threading.Event) -> None:
        self.restore()
        self.flows.wait_caught_up(30)
        seen_version, next_tick = -1, 0.0
        while not stop.is_set():
            # a tick when a flow changed or a new second began (a cron's finest unit): a
            # due occurrence fires within TICK_SECONDS, and an idle scheduler ticks once a second
            if self.flows.version != seen_version or time.time() >= next_tick:
                seen_version = self.flows.version
                now = datetime.now(timezone.utc)
                self.tick(now)
                next_tick = math.floor(now.timestamp()) + 1.0
            stop.wait(TICK_SECONDS)

    def tick(self, now: datetime) -> int:
        """Fire every due occurrence; returns how many were requested."""
        checkpoint = Checkpoint(self._producer, self.kafka, changelog="scheduler-state")
        fired = 0
        states: dict[str, bytes | None] = {}
        for flow, trigger in schedules(self.flows.latest_flows()):
            uid = trigger_uid(flow, trigger)
            if self._is_disabled(uid, flow):
                continue
            try:
                fired += self._tick_one(flow, trigger, uid, now, checkpoint.outbox, states)
            except Exception as error:  # this trigger only: the others keep firing
                self._disable(uid, flow, trigger, error)
        if states:
            # the checkpoint writes the states only once the requests are confirmed
            checkpoint.commit(lambda offsets: self.store.write(states, offsets.get(0)))
        return fired

    def _tick_one(self, flow: Flow, trigger: Schedule, uid: str, now: datetime, outbox: Outbox,
                  states: dict[str, bytes | None]) -> int:
        """Request the trigger's due occurrences; returns how many. Raises when the trigger
        cannot compute its dates."""
        last = self.last.get(uid)
        moments = [now] if last is None else due(trigger, last, now)  # first sight: from now
        if not moments:
            return 0
        next_fire = next_after(trigger, moments[-1])  # raises before anything is sent
        fired = 0
        for moment in moments if last is not None else []:
            if conditions_hold(flow, trigger, moment) and self._request(flow, trigger, moment, now, outbox):
                fired += 1
        self.last[uid] = moments[-1]
        states[uid] = self.codec.encode("TriggerState", {
            "uid": uid, "lastFire": moments[-1], "nextFire": next_fire})
        outbox.send("scheduler-state", uid, states[uid])
        return fired

    def _request(self, flow: Flow, trigger: Schedule, moment: datetime, now: datetime,
                 outbox: Outbox) -> bool:
        try:
            request = request_for(flow, trigger, moment, now,
                                  lambda f, inputs: type_inputs(f.inputs, inputs))
        except (ValueError, ExpressionError) as error:
            log.error("schedule could not start its flow", flow=flow.uid,
                      trigger=trigger.id, date=moment.isoformat(), reason=str(error))
            return False
        name, value = rec.event_to_record(request)
        # the root span of the execution's trace (ostinato/tracing); the request carries it
        with execution_root(request.execution_id, "scheduler Schedule",
                            attributes=request_attributes(request, trigger.id)):
            outbox.send("executor", request.execution_id, self.codec.encode(name, value))
        if self.metrics is not None:  # how late this occurrence fires
            self.metrics.scheduler_lateness_seconds.labels(trigger="Schedule").observe(
                max((now - moment).total_seconds(), 0.0))
        return True

    def _is_disabled(self, uid: str, flow: Flow) -> bool:
        disabled = self.disabled.get(uid)
        if disabled is None:
            return False
        if disabled[0] == flow.revision:
            return True
        del self.disabled[uid]  # a new revision: try it again
        return False

    def _disable(self, uid: str, flow: Flow, trigger: Schedule, error: Exception) -> None:
        reason = f"{type(error).__name__}: {error}"
        self.disabled[uid] = (flow.revision, reason)
        log.error("schedule trigger disabled: it cannot compute its next date", flow=flow.uid,
                  trigger=trigger.id, revision=flow.revision, reason=reason)
