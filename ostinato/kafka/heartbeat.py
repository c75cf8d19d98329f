"""Service heartbeats on the `services` topic: how `/health` knows the stack is up."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from ostinato.kafka.config import KafkaSettings
from ostinato.wire.codec import Codec, MalformedRecord

INTERVAL_SECONDS = 2.0


class Heartbeat:
    """Announces one service process every few seconds until stopped."""

    def __init__(self, settings: KafkaSettings, codec: Codec, service: str) -> None:
        self._settings = settings
        self._codec = codec
        self.service = service
        self.instance = uuid.uuid4().hex[:12]
        self._producer = Producer(settings.producer())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._send(ready=False)
        self._producer.flush(5)

    def _beat(self) -> None:
        while not self._stop.is_set():
            self._send(ready=True)
            self._producer.poll(0)
            self._stop.wait(INTERVAL_SECONDS)

    def _send(self, *, ready: bool) -> None:
        value = self._codec.encode("ServiceHeartbeat", {
            "service": self.service, "instance": self.instance, "host": socket.gethostname(),
            "pid": os.getpid(), "at": datetime.now(timezone.utc), "ready": ready})
        self._producer.produce(self._settings.topic("services"),
                               key=f"{self.service}/{self.instance}".encode(), value=value)


class HeartbeatView:
    """The last heartbeat of every service instance, read from the `services` topic."""

    def __init__(self, settings: KafkaSettings, codec: Codec) -> None:
        self._settings = settings
        self._codec = codec
        self._last: dict[tuple[str, str], tuple[datetime, bool]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="heartbeats", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def alive(self, *, within: float = 3 * INTERVAL_SECONDS) -> set[str]:
        """Services with at least one ready instance heard from in the last `within` s."""
        horizon = datetime.now(timezone.utc) - timedelta(seconds=within)
        with self._lock:
            return {service for (service, _), (at, ready) in self._last.items()
                    if ready and at >= horizon}

    def _follow(self) -> None:
        consumer = Consumer(self._settings.consumer(None, **{"fetch.wait.max.ms": 100}))
        consumer.assign([TopicPartition(self._settings.topic("services"), 0, 0)])
        try:
            while not self._stop.is_set():
                message = consumer.poll(0.2)
                if message is None or message.value() is None:
                    continue
                error = message.error()
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:
                        time.sleep(0.2)
                    continue
                try:
                    _, beat = self._codec.decode(message.value(), expected="ServiceHeartbeat")
                except MalformedRecord:
                    continue
                with self._lock:
                    self._last[(beat["service"], beat["instance"])] = (beat["at"], beat["ready"])
        finally:
            consumer.close()
