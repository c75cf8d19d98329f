"""The one confirming producer: produce a record, then know the broker has it.

Every service that must not move on before a record is written (commit an input offset,
answer an HTTP request, claim a flow revision) produces through `ConfirmingProducer`:

- `produce(...)` queues a record and returns its `Delivery` (filled by the delivery report);
- `confirm(deliveries)` waits for those reports and raises `DeliveryFailed` on any error;
- `send_and_confirm(...)` is both, for one record;
- `async send(...)` is the face for asyncio handlers (the API): the delivery report settles
  a future on the handler's loop (`call_soon_threadsafe`); `start_polling()` runs the thread
  that serves the reports.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterable
from typing import Any, Callable

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from ostinato.kafka.config import KafkaSettings
from ostinato.tracing import Headers, record_headers

DEFAULT_TIMEOUT = 30.0


class DeliveryFailed(RuntimeError):
    """A record was not written (or not confirmed in time): what depends on it must not be
    committed or acknowledged."""


class Delivery:
    """The delivery report of one produced record."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.done = threading.Event()
        self.error: str | None = None
        self.partition = -1
        self.offset = -1
        self._lock = threading.Lock()
        self._listeners: list[Callable[[Delivery], None]] = []

    def report(self, error: KafkaError | None, message: Message | None) -> None:
        """The producer's `on_delivery` callback."""
        if error is not None:
            self.error = str(error)
        elif message is not None:
            self.partition = message.partition() or 0
            self.offset = message.offset() or 0
        with self._lock:
            self.done.set()
            listeners, self._listeners = self._listeners, []
        for listener in listeners:
            listener(self)

    def when_done(self, listener: Callable[[Delivery], None]) -> None:
        """Call `listener(self)` once reported (at once if it already is), on the thread
        that serves the report."""
        with self._lock:
            if not self.done.is_set():
                self._listeners.append(listener)
                return
        listener(self)

    def failure(self) -> str | None:
        """Why the record was not written, None when it was (or is not reported yet)."""
        return None if self.error is None else f"{self.topic}: {self.error}"


class ConfirmingProducer:
    """A producer whose records can be waited for; safe to use from several threads."""

    def __init__(self, settings: KafkaSettings, *, producer: Producer | None = None,
                 config: dict[str, Any] | None = None) -> None:
        """`producer`: the confluent-kafka producer to use (e.g. an instrumented one), else one
        made from `settings` with `config` (librdkafka settings) on top."""
        self.settings = settings
        self.raw: Producer = (producer if producer is not None
                              else Producer(settings.producer(**(config or {}))))
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None

    # ---------------------------------------------------------------- synchronous face

    def produce(self, topic: str, key: str | bytes | None, value: bytes | None, *,
                partition: int | None = None, headers: Headers | None = None) -> Delivery:
        """Queue one record for `topic` (ostinato's short name); returns its delivery. Waits
        for room when the local queue is full instead of failing; a record the client refuses
        at once (over the message size ...) is a delivery already failed, so every error
        surfaces the same way: `confirm` raises DeliveryFailed. `headers`: the record's
        headers; by default the current span's `traceparent` when tracing is on
        (ostinato/tracing), none otherwise."""
        full_name = self.settings.topic(topic)
        delivery = Delivery(full_name)
        record: dict[str, Any] = {"key": key.encode() if isinstance(key, str) else key,
                                  "value": value, "on_delivery": delivery.report}
        if partition is not None:
            record["partition"] = partition
        headers = record_headers() if headers is None else headers
        if headers:
            record["headers"] = list(headers)
        while True:
            try:
                self.raw.produce(full_name, **record)
                return delivery
            except BufferError:  # the local queue is full: let deliveries drain
                self.raw.poll(0.05)
            except KafkaException as error:  # refused at once (too large ...): a failed delivery
                delivery.report(error.args[0] if error.args else KafkaError(KafkaError._FAIL), None)
                return delivery

    def confirm(self, deliveries: Iterable[Delivery], timeout: float = DEFAULT_TIMEOUT) -> None:
        """Return once every delivery is reported written; DeliveryFailed otherwise (an error,
        or not reported within `timeout` s)."""
        pending = list(deliveries)
        deadline = time.monotonic() + timeout
        for delivery in pending:
            while not delivery.done.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DeliveryFailed(f"{delivery.topic}: not confirmed within {timeout} s")
                self.raw.poll(min(remaining, 0.05))
        failures = [f for f in (d.failure() for d in pending) if f is not None]
        if failures:
            raise DeliveryFailed("; ".join(failures[:5]))

    def confirm_all(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait until nothing produced so far is in flight (a flush); DeliveryFailed if some
        record is still undelivered after `timeout` s. Errors are the deliveries' to check."""
        remaining = self.raw.flush(timeout)
        if remaining:
            raise DeliveryFailed(f"{remaining} records still undelivered after {timeout} s")

    def send_and_confirm(self, topic: str, key: str | bytes | None, value: bytes | None, *,
                         partition: int | None = None, timeout: float = DEFAULT_TIMEOUT) -> Delivery:
        """Produce one record and wait until the broker has it; returns its delivery
        (partition and offset). Raises DeliveryFailed."""
        delivery = self.produce(topic, key, value, partition=partition)
        self.confirm([delivery], timeout)
        return delivery

    def poll(self, timeout: float = 0.0) -> None:
        """Serve delivery reports (producers used without `start_polling` must call it)."""
        self.raw.poll(timeout)

    # ---------------------------------------------------------------- asynchronous face

    def start_polling(self) -> None:
        """Serve delivery reports on a thread of their own, for `send`."""
        from ostinato.management import start_service_thread

        if self._poller is None:
            self._poller = start_service_thread("producer-poll", self._poll_until_stopped)

    def _poll_until_stopped(self) -> None:
        while not self._stop.is_set():
            self.raw.poll(0.05)

    async def send(self, topic: str, key: str | bytes | None, value: bytes | None, *,
                   timeout: float = DEFAULT_TIMEOUT, partition: int | None = None) -> Delivery:
        """Produce one record; resolves once the broker has it (DeliveryFailed otherwise).
        Needs `start_polling()`."""
        loop = asyncio.get_running_loop()
        settled: asyncio.Future[Delivery] = loop.create_future()
        delivery = self.produce(topic, key, value, partition=partition)
        def reported(done: Delivery) -> None:
            loop.call_soon_threadsafe(_settle, settled, done)

        delivery.when_done(reported)
        try:
            return await asyncio.wait_for(settled, timeout)
        except asyncio.TimeoutError:
            raise DeliveryFailed(f"{delivery.topic}: not confirmed within {timeout} s") from None

    # ---------------------------------------------------------------- lifecycle

    def close(self, timeout: float = 10.0) -> None:
        """Stop the polling thread (if any) and deliver what is still queued."""
        self._stop.set()
        if self._poller is not None:
            self._poller.join(timeout=5)
            self._poller = None
        self.raw.flush(timeout)


def _settle(future: asyncio.Future[Delivery], delivery: Delivery) -> None:
    if future.done():
        return
    failure = delivery.failure()
    if failure is not None:
        future.set_exception(DeliveryFailed(failure))
    else:
        future.set_result(delivery)
