"""Schedule triggers in the scheduler: fire due occurrences, remember the last one.

The last fired occurrence of each trigger is written to the compacted `scheduler-state`
topic after the requests are confirmed, and mirrored in a local RocksDB store with the
changelog offset it has applied: a restart reads only the changelog's tail; occurrences missed while
no scheduler ran are recovered as the trigger says (`recoverMissedSchedules`). Replicas
need no coordination: an occurrence's execution id is derived from it, so the executor
starts it once however many times it is requested.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone

from confluent_kafka import Producer

from ostinato.expressions import ExpressionError
from ostinato.flow.inputs import type_inputs
from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.flow_table import FlowTable
from ostinato.kafka.outbox import Outbox
from ostinato.kafka.restore import read_partition_to_end
from ostinato.logging import get_logger
from ostinato.store.triggers import TriggerStore
from ostinato.triggers.schedule import (
    conditions_hold, due, next_after, request_for, schedules, trigger_uid,
)
from ostinato.wire import records as rec
from ostinato.wire.codec import Codec

log = get_logger(component="schedules")

TICK_SECONDS = 0.1


class ScheduleTicker:
    def __init__(self, kafka: KafkaSettings, codec: Codec, flows: FlowTable, store: TriggerStore) -> None:
        self.kafka = kafka
        self.codec = codec
        self.flows = flows
        self.store = store
        self.last: dict[str, datetime] = {}
        self._producer = Producer(kafka.producer())

    def start(self, stop: threading.Event) -> threading.Thread:
        thread = threading.Thread(target=self.run, args=(stop,), name="schedules", daemon=True)
        thread.start()
        return thread

    def restore(self) -> None:
        """The store, brought up to the end of the changelog, then loaded."""
        start = (self.store.changelog_offset() or -1) + 1
        tail: dict[str, bytes | None] = {}
        last_offset: list[int] = []

        def read(key: str, value: bytes | None, offset: int) -> None:
            tail[key] = value
            last_offset[:] = [offset]

        count = read_partition_to_end(self.kafka, "scheduler-state", 0, start, read)
        self.store.write(tail, last_offset[0] if last_offset else None)
        for value in self.store.states():
            _, record = self.codec.decode(value, expected="TriggerState")
            self.last[record["uid"]] = record["lastFire"]
        log.info("schedule state restored", triggers=len(self.last), changelog_read=count)

    def run(self, stop: threading.Event) -> None:
        self.restore()
        self.flows.wait_caught_up(30)
        while not stop.is_set():
            self.tick(datetime.now(timezone.utc))
            stop.wait(TICK_SECONDS)

    def tick(self, now: datetime) -> int:
        """Fire every due occurrence; returns how many were requested."""
        outbox = Outbox(self._producer, self.kafka, track="scheduler-state")
        fired = 0
        changed: dict[str, datetime] = {}
        triggers = {}
        for flow, trigger in schedules(self.flows.latest_flows()):
            uid = trigger_uid(flow, trigger)
            triggers[uid] = trigger
            last = self.last.get(uid)
            if last is None:
                changed[uid] = now  # first sight: start from now
                continue
            for moment in due(trigger, last, now):
                changed[uid] = moment
                if not conditions_hold(flow, trigger, moment):
                    continue
                try:
                    request = request_for(flow, trigger, moment, now,
                                          lambda f, inputs: type_inputs(f.inputs, inputs))
                except (ValueError, ExpressionError) as error:
                    log.error("schedule could not start its flow", flow=flow.uid,
                              trigger=trigger.id, date=moment.isoformat(), reason=str(error))
                else:
                    name, value = rec.event_to_record(request)
                    outbox.send("executor", request.execution_id, self.codec.encode(name, value))
                    fired += 1
        if changed:
            # the outbox writes the states only once the requests are confirmed
            states: dict[str, bytes | None] = {}
            for uid, moment in changed.items():
                self.last[uid] = moment
                states[uid] = self.codec.encode("TriggerState", {
                    "uid": uid, "lastFire": moment, "nextFire": next_after(triggers[uid], moment)})
                outbox.send("scheduler-state", uid, states[uid])
            written = outbox.flush()
            self.store.write(states, written.get(0))
        return fired
