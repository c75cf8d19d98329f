"""Wiring of the worker process."""

from __future__ import annotations

import os
import threading

from ostinato.kafka.config import KafkaSettings
from ostinato.management import Management, StandardMetrics
from ostinato.wire.codec import Codec
from ostinato.services.common import ready_when, serve
from ostinato.services.worker.service import WorkerConfig, WorkerService


def main(kafka: KafkaSettings, codec: Codec, config: WorkerConfig, *, management_port: int) -> None:
    if os.geteuid() == 0:
        # a root worker (that runs scripts as another user) writes internal-storage files
        # the services' group may delete (the API's deleteStorage)
        os.umask(0o002)
    def loop(stop: threading.Event, management: Management, metrics: StandardMetrics) -> None:
        service = WorkerService(kafka, config, codec, metrics=metrics)
        ready_when(service.ready, management)
        service.run(stop)

    serve("worker", kafka, codec, loop, management_port=management_port)
