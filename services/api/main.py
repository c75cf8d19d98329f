"""Wiring of the API process: uvicorn serving the app until a signal."""

from __future__ import annotations

import threading

import uvicorn

from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.heartbeat import HeartbeatView
from ostinato.management import Management, StandardMetrics
from ostinato.wire.codec import Codec
from services.api.app import create_app
from services.common import serve


def main(kafka: KafkaSettings, codec: Codec, *, host: str, port: int, management_port: int) -> None:
    def loop(stop: threading.Event, management: Management, metrics: StandardMetrics) -> None:
        heartbeats = HeartbeatView(kafka, codec)
        heartbeats.start()
        server = uvicorn.Server(uvicorn.Config(create_app(heartbeats), host=host, port=port,
                                               log_level="warning"))
        thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
        thread.start()
        management.set_ready(True)
        stop.wait()
        server.should_exit = True
        thread.join(timeout=10)
        heartbeats.stop()

    serve("api", kafka, codec, loop, management_port=management_port)
