"""Wiring of the scheduler process. It joins the bus and follows the flows; firing
Schedule and Flow triggers and trigger events comes with the triggers issue."""

from __future__ import annotations

import threading

from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.flow_table import FlowTable
from ostinato.management import Management, StandardMetrics
from ostinato.wire.codec import Codec
from services.common import serve


def main(kafka: KafkaSettings, codec: Codec, *, management_port: int) -> None:
    def loop(stop: threading.Event, management: Management, metrics: StandardMetrics) -> None:
        flows = FlowTable(kafka, codec)
        flows.start()
        try:
            management.set_ready(True)
            stop.wait()
        finally:
            flows.stop()

    serve("scheduler", kafka, codec, loop, management_port=management_port)
