"""Wiring of the scheduler process: trigger events, Flow triggers, Schedule triggers."""

from __future__ import annotations

import threading
from pathlib import Path

from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.flow_table import FlowTable
from ostinato.management import Management, StandardMetrics
from ostinato.store.triggers import TriggerStore
from ostinato.wire.codec import Codec
from ostinato.services.common import ready_when, serve
from ostinato.services.scheduler.flow_triggers import FlowTriggerWatcher, PreconditionOwner
from ostinato.services.scheduler.schedules import ScheduleTicker
from ostinato.services.scheduler.trigger_events import TriggerEventConsumer


def main(kafka: KafkaSettings, codec: Codec, *, management_port: int, data_dir: Path,
         flow_wait: float = 10.0) -> None:
    def loop(stop: threading.Event, management: Management, metrics: StandardMetrics) -> None:
        flows = FlowTable(kafka, codec)
        flows.start()
        try:
            watcher = FlowTriggerWatcher(kafka, codec, flows, metrics=metrics).start(stop)
            owner = PreconditionOwner(kafka, codec, flows).start(stop)
            store = TriggerStore(data_dir / "triggers")
            ticker = ScheduleTicker(kafka, codec, flows, store, metrics=metrics).start(stop)
            consumer = TriggerEventConsumer(kafka, codec, flows, flow_wait_seconds=flow_wait)
            ready_when(consumer.ready, management)
            consumer.run(stop)
            watcher.join(timeout=10)
            owner.join(timeout=10)
            ticker.join(timeout=10)
            store.close()
        finally:
            flows.stop()

    serve("scheduler", kafka, codec, loop, management_port=management_port)
