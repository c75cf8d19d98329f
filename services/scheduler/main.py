"""Wiring of the scheduler process. It joins the bus and follows the flows; firing
Schedule and Flow triggers and trigger events comes with the triggers issue."""

from __future__ import annotations

import threading

from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.flow_table import FlowTable
from ostinato.wire.codec import Codec
from services.common import serve


def main(kafka: KafkaSettings, codec: Codec) -> None:
    def loop(stop: threading.Event) -> None:
        flows = FlowTable(kafka, codec)
        flows.start()
        try:
            stop.wait()
        finally:
            flows.stop()

    serve("scheduler", kafka, codec, loop)
