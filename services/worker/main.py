"""Wiring of the worker process."""

from __future__ import annotations

import threading

from ostinato.kafka.config import KafkaSettings
from ostinato.wire.codec import Codec
from services.common import serve
from services.worker.service import WorkerConfig, WorkerService


def main(kafka: KafkaSettings, codec: Codec, config: WorkerConfig) -> None:
    def loop(stop: threading.Event) -> None:
        WorkerService(kafka, config, codec).run(stop)

    serve("worker", kafka, codec, loop)
