"""What every service process does around its main loop: topics, flows, heartbeat, signals."""

from __future__ import annotations

import signal
import threading
from typing import Callable

from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.heartbeat import Heartbeat
from ostinato.kafka.topics import ensure_all_topics
from ostinato.logging import get_logger
from ostinato.wire.codec import Codec

log = get_logger()


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT (Ctrl-C), for a clean stop."""
    stop = threading.Event()

    def handler(signum: int, _: object) -> None:
        log.info("stopping", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def serve(name: str, kafka: KafkaSettings, codec: Codec, loop: Callable[[threading.Event], None]) -> None:
    """Create missing topics, announce the service, and run `loop` until a signal."""
    stop = stop_on_signals()
    ensure_all_topics(kafka)
    heartbeat = Heartbeat(kafka, codec, name)
    heartbeat.start()
    log.info("service up", bootstrap=kafka.bootstrap_servers, prefix=kafka.topic_prefix)
    try:
        loop(stop)
    finally:
        heartbeat.stop()
        log.info("service stopped")
