"""What every service process does around its main loop: topics, flows, heartbeat, signals."""

from __future__ import annotations

import signal
import threading
from typing import Callable

from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.dead_letters import count_dead_letters_in
from ostinato.kafka.heartbeat import Heartbeat
from ostinato.kafka.topics import ensure_all_topics
from ostinato.logging import get_logger
from ostinato.metrics import start_service_metrics
from ostinato import tracing
from ostinato.management import (
    Management, StandardMetrics, report_thread_deaths, standard_metrics, start_service_thread,
)
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


Loop = Callable[[threading.Event, Management, StandardMetrics], None]


def serve(name: str, kafka: KafkaSettings, codec: Codec, loop: Loop, *, management_port: int) -> None:
    """Open the management port, create missing topics, announce the service, and run
    `loop` until a signal. Liveness never depends on Kafka; readiness is the loop's to set.
    A background thread started with `start_service_thread` that dies makes /health DOWN
    with its name. Every dead letter the process writes is counted in its /metrics."""
    stop = stop_on_signals()
    if tracing.configure(name):  # only when OTEL_EXPORTER_OTLP_ENDPOINT is set
        log.info("traces exported over OTLP", service=name)
    management = Management(service=name, port=management_port)
    report_thread_deaths(management)
    metrics = standard_metrics(management)
    count_dead_letters_in(metrics.dead_letters_total)  # every letter the process writes
    lag = start_service_metrics(metrics, name)  # its own metrics only, and its consumers' lag
    management.start()
    log.info("management up", port=management.port)
    try:
        ensure_all_topics(kafka)
        heartbeat = Heartbeat(kafka, codec, name)
        heartbeat.start()
        log.info("service up", bootstrap=kafka.bootstrap_servers, prefix=kafka.topic_prefix)
        try:
            loop(stop, management, metrics)
        except BaseException as error:
            management.set_alive(False, repr(error))
            if isinstance(error, SystemExit) and isinstance(error.code, str):
                log.error("service exits", reason=error.code)  # Python would print it raw
                raise SystemExit(1) from None
            raise
        finally:
            management.set_ready(False, "stopping")
            heartbeat.stop()
            log.info("service stopped")
    finally:
        lag.stop()
        management.stop()


def ready_when(event: threading.Event, management: Management) -> None:
    """Mark the service ready once `event` is set (e.g. partitions assigned)."""
    def wait() -> None:
        event.wait()
        management.set_ready(True)

    start_service_thread("readiness", wait, liveness=management)
