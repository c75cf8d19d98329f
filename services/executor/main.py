"""Wiring of the executor process."""

from __future__ import annotations

import threading

from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.flow_table import FlowTable
from ostinato.management import Management, StandardMetrics
from ostinato.wire.codec import Codec
from ostinato.services.common import ready_when, serve
from ostinato.services.executor.admission import AdmissionOwner
from ostinato.services.executor.service import ExecutorConfig, ExecutorService


def main(kafka: KafkaSettings, codec: Codec, config: ExecutorConfig, *, management_port: int) -> None:
    def loop(stop: threading.Event, management: Management, metrics: StandardMetrics) -> None:
        flows = FlowTable(kafka, codec)
        flows.start()
        try:
            service = ExecutorService(kafka, config, codec, flows, metrics=metrics)
            admissions = AdmissionOwner(kafka, codec, flows, flow_wait_seconds=config.flow_wait_seconds)
            admissions.start(stop)
            ready_when(service.ready, management)
            service.run(stop)
            admissions.join()
        finally:
            flows.stop()

    serve("executor", kafka, codec, loop, management_port=management_port)
