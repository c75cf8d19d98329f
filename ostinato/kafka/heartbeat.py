"""Service heartbeats on the `services` topic: how `/health` knows the stack is up."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from datetime import datetime, timedelta, timezone

from ostinato.kafka.config import KafkaSettings
from ostinato.kafka.dead_letters import DeadLetters
from ostinato.kafka.follower import Follower
from ostinato.kafka.messages import Received
from ostinato.kafka.producer import ConfirmingProducer
from ostinato.management import start_service_thread
from ostinato.wire.codec import Codec

INTERVAL_SECONDS = 2.0


class Heartbeat:
    """Announces one service process every few seconds until stopped."""

    def __init__(self, settings: KafkaSettings, codec: Codec, service: str) -> None:
        self._settings = settings
        self._codec = codec
        self.service = service
        self.instance = uuid.uuid4().hex[:12]
        self._producer = ConfirmingProducer(settings)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = start_service_thread("heartbeat", self._beat)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._send(ready=False)
        self._producer.close(5)

    def _beat(self) -> None:
        while not self._stop.is_set():
            self._send(ready=True)
            self._producer.poll(0)
            self._stop.wait(INTERVAL_SECONDS)

    def _send(self, *, ready: bool) -> None:
        """Queue a beat (not waited for: the next one replaces a lost one)."""
        value = self._codec.encode("ServiceHeartbeat", {
            "service": self.service, "instance": self.instance, "host": socket.gethostname(),
            "pid": os.getpid(), "at": datetime.now(timezone.utc), "ready": ready})
        self._producer.produce("services", f"{self.service}/{self.instance}", value)


class HeartbeatView:
    """The last heartbeat of every service instance, read from the `services` topic."""

    def __init__(self, settings: KafkaSettings, codec: Codec) -> None:
        self._settings = settings
        self._codec = codec
        self._last: dict[tuple[str, str], tuple[datetime, bool]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = start_service_thread("heartbeats", self._follow)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def alive(self, *, within: float = 3 * INTERVAL_SECONDS) -> set[str]:
        """Services with at least one ready instance heard from in the last `within` s."""
        horizon = datetime.now(timezone.utc) - timedelta(seconds=within)
        with self._lock:
            return {service for (service, _), (at, ready) in self._last.items()
                    if ready and at >= horizon}

    def _follow(self) -> None:
        follower = Follower(self._settings, {("services", 0): 0}, role="background")
        producer = ConfirmingProducer(self._settings)
        dead_letters = DeadLetters(producer, self._codec, reader="heartbeats")
        try:
            while not self._stop.is_set():
                for received in follower.poll(500, 1.0):
                    self._read(received, dead_letters)
        finally:
            follower.close()
            producer.close(5)

    def _read(self, received: Received, dead_letters: DeadLetters) -> None:
        decoded = dead_letters.decode(received, expected="ServiceHeartbeat")
        if decoded is None:
            return
        beat = decoded[1]
        with self._lock:
            self._last[(beat["service"], beat["instance"])] = (beat["at"], beat["ready"])
