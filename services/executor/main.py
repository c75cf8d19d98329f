"""Wiring of the executor process."""

from __future__ import annotations

import threading

from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.flow_table import FlowTable
from ostinato.wire.codec import Codec
from services.common import serve
from services.executor.service import ExecutorConfig, ExecutorService


def main(kafka: KafkaSettings, codec: Codec, config: ExecutorConfig) -> None:
    def loop(stop: threading.Event) -> None:
        flows = FlowTable(kafka, codec)
        flows.start()
        try:
            ExecutorService(kafka, config, codec, flows).run(stop)
        finally:
            flows.stop()

    serve("executor", kafka, codec, loop)
